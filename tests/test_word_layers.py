"""WordFeatures, CharacterEncoder and LexiconMatch: shapes, padding, training-time unknown words, lexicon phrases,
serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import lexicons, words
from tests.layer_test_case import run_layer_test
from zoo.layers import CharacterEncoder, LexiconMatch, WordFeatures

TOKENS = tf.constant([["The", "EU", "rejects", "1996"], ["Zürich", "", "", ""]])


def test_word_features_ids():
    layer = WordFeatures(["the", "eu", "0000"], max_word_length=4)
    word_ids, casing_ids, char_ids = layer(TOKENS)
    np.testing.assert_array_equal(word_ids, [[2, 3, 1, 4], [1, 0, 0, 0]])
    assert casing_ids.shape == (2, 4) and (casing_ids.numpy()[1, 1:] == 0).all()
    assert char_ids.shape == (2, 4, 4) and (char_ids.numpy()[1, 1:] == 0).all()
    assert layer.vocab_size == 5


def test_unknown_word_rate_applies_in_training_only():
    layer = WordFeatures(["the"] * 1 + ["eu"], unknown_word_rate=0.5, seed=1)
    tokens = tf.constant([["the"] * 1000 + [""]])
    trained = layer(tokens, training=True)[0].numpy()[0]
    assert 0.4 < np.mean(trained[:-1] == 1) < 0.6 and trained[-1] == 0
    np.testing.assert_array_equal(layer(tokens)[0].numpy()[0, :-1], 2)


@pytest.mark.parametrize("encoder, size", [("cnn", 6), ("lstm", 12)])
def test_character_encoder_shapes_mask_and_padding(encoder, size):
    layer = CharacterEncoder(words.CHAR_VOCAB_SIZE, embedding_dim=5, hidden_dim=6, encoder=encoder)
    char_ids = words.char_ids(TOKENS, 8)
    output = layer(char_ids)
    assert output.shape == (2, 4, size) == layer.compute_output_shape(char_ids.shape)
    assert (output.numpy()[1, 1:] == 0).all()
    np.testing.assert_array_equal(layer.compute_mask(char_ids), TOKENS.numpy() != b"")
    # A word's vector does not depend on how far its characters are padded.
    wider = tf.pad(char_ids, [[0, 0], [0, 0], [0, 5]])
    np.testing.assert_allclose(layer(wider), output, atol=1e-6)


def test_character_encoder_rejects_unknown_encoder():
    with pytest.raises(ValueError, match="encoder"):
        CharacterEncoder(10, encoder="gru")


def test_word_layers_round_trip_through_keras_file(tmp_path):
    tokens = keras.Input((None,), dtype="string")
    word_ids, casing_ids, char_ids = WordFeatures(["the", "eu"], max_word_length=6)(tokens)
    chars = CharacterEncoder(words.CHAR_VOCAB_SIZE, 4, 3, "lstm")(char_ids)
    embedded = keras.layers.Embedding(4, 3, mask_zero=True)(word_ids)
    model = keras.Model(
        tokens, keras.layers.Concatenate()([embedded, chars, keras.ops.cast(casing_ids, "float32")[..., None]])
    )
    model.save(tmp_path / "words.keras")
    loaded = keras.saving.load_model(tmp_path / "words.keras")
    np.testing.assert_allclose(loaded(TOKENS), model(TOKENS), atol=1e-6)
    for layer in (WordFeatures(["a"], 3, 0.1, 7), CharacterEncoder(10, 4, 3, "cnn", 5)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_word_features_passes_the_layer_checks(tmp_path):
    run_layer_test(
        WordFeatures,
        {"vocabulary": ["the", "eu"], "max_word_length": 5, "unknown_word_rate": 0.2, "seed": 3},
        (np.array([[token.decode() for token in row] for row in TOKENS.numpy()]),),
        [(2, 4), (2, 4), (2, 4, 5)],
        run_training_check=False,
        saved_model_dir=tmp_path,
    )


@pytest.mark.parametrize("encoder, trainable", [("cnn", 3), ("lstm", 7)])
def test_character_encoder_passes_the_layer_checks(encoder, trainable, tmp_path):
    run_layer_test(
        CharacterEncoder,
        {"vocab_size": words.CHAR_VOCAB_SIZE, "embedding_dim": 5, "hidden_dim": 6, "encoder": encoder},
        (words.char_ids(TOKENS, 8).numpy(),),
        (2, 4, 6 if encoder == "cnn" else 12),
        expected_num_trainable_weights=trainable,
        saved_model_dir=tmp_path,
    )


LEXICONS = {"LOC": ["new york", "york", "new york city"], "PER": ["john", "york"]}


def _match_tags(features, lexicon_index):
    """The `MATCH_TAGS` letter of each token in one lexicon, `O` outside its phrases."""
    one_hot = features[..., lexicon_index * 4 : (lexicon_index + 1) * 4]
    return ["".join("BIES"[np.argmax(tag)] if tag.any() else "O" for tag in row) for row in one_hot]


def test_lexicon_match_marks_the_longest_phrase_ignoring_case_and_padding():
    layer = LexiconMatch(LEXICONS, max_phrase_tokens=3)
    tokens = tf.constant([["John", "went", "to", "NEW", "York", "City", "."], ["York", "new", "york", "", "", "", ""]])
    features = layer(tokens).numpy()
    assert features.shape == (2, 7, 8) == layer.compute_output_shape((2, 7))
    assert _match_tags(features, 0) == ["OOOBIEO", "SBEOOOO"]  # the longest phrase wins over "york"
    assert _match_tags(features, 1) == ["SOOOSOO", "SOSOOOO"]
    np.testing.assert_array_equal(layer.compute_mask(tokens), tokens.numpy() != b"")
    # A phrase longer than max_phrase_tokens is never looked for.
    shorter = LexiconMatch(LEXICONS, max_phrase_tokens=2)(tokens).numpy()
    assert _match_tags(shorter, 0)[0] == "OOOBEOO"


def test_lexicon_match_rejects_no_lexicons_or_no_tokens():
    with pytest.raises(ValueError, match="lexicon"):
        LexiconMatch({})
    with pytest.raises(ValueError, match="max_phrase_tokens"):
        LexiconMatch(LEXICONS, max_phrase_tokens=0)


def test_lexicon_match_passes_the_layer_checks(tmp_path):
    run_layer_test(
        LexiconMatch,
        {"lexicons": LEXICONS, "max_phrase_tokens": 3},
        (np.array([["John", "in", "New", "York"], ["York", "", "", ""]]),),
        (2, 4, 8),
        run_training_check=False,
        saved_model_dir=tmp_path,
    )


def test_lexicons_hold_names_of_each_type_tokenized_as_raw_text_and_as_conll():
    found = lexicons.lexicons()
    assert set(found) == set(lexicons.LEXICON_TYPES)
    assert {"john", "smith"} <= set(found["PER"])
    assert {"germany", "new york city", "bosnia and herzegovina", "europe"} <= set(found["LOC"])
    assert {"inc .", "inc.", "gmbh"} <= set(found["ORG"])
    assert {"german", "dutch"} <= set(found["MISC"])
    assert all(
        0 < len(phrase.split(" ")) <= lexicons.MAX_PHRASE_TOKENS for phrases in found.values() for phrase in phrases
    )
    # As raw text is tokenized ("St ." before a space) and as CoNLL keeps it ("St."); digits normalized.
    assert lexicons.phrases(["St. Louis", "Baden-Württemberg 2"]) == ["baden-württemberg 0", "st . louis", "st. louis"]
