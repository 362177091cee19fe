"""The NER tagger on token strings: word, casing and character features, a bidirectional recurrent
stack, and a CRF or softmax output."""

import dataclasses

import keras

from data_pipelines import lexicons, text, words
from zoo.layers import CRF, CharacterEncoder, LexiconMatch, RecurrentStack, WordFeatures
from zoo.layers.crf import CRFLoss


def build_tagger(config, vocabulary, num_tags):
    """Token strings `(batch, time)`, right-padded with `""` -> `(trainer, tagger)`.

    `trainer` outputs the per-token tag scores `(batch, time, num_tags)` that the loss reads;
    `tagger` shares its layers and outputs int32 tag ids `(batch, time)`: the Viterbi path with
    the CRF, the per-token argmax with softmax. Tag ids past a sentence's end carry no meaning.
    """
    tokens = keras.Input((None,), dtype="string", name="tokens")
    word_features = WordFeatures(
        vocabulary, config.max_word_length, config.unknown_word_rate, seed=config.seed, name="word_features"
    )
    word_ids, casing_ids, char_ids = word_features(tokens)
    # Every part carries the padding mask: Concatenate ORs masks, so one unmasked part unmasks all.
    word_embedding = keras.layers.Embedding(
        word_features.vocab_size, config.embedding_dim, mask_zero=True, name="words"
    )
    casing_embedding = keras.layers.Embedding(
        words.CASING_VOCAB_SIZE, config.casing_embedding_dim, mask_zero=True, name="casing"
    )
    features = [word_embedding(word_ids), casing_embedding(casing_ids)]
    if config.char_encoder != "none":
        characters = CharacterEncoder(
            words.CHAR_VOCAB_SIZE,
            config.char_embedding_dim,
            config.char_hidden_dim,
            config.char_encoder,
            name="characters",
        )
        features.append(characters(char_ids))
    if config.lexicons:
        features.append(LexiconMatch(lexicons.lexicons(), lexicons.MAX_PHRASE_TOKENS, name="lexicons")(tokens))
    hidden = keras.layers.Concatenate(name="word_vectors")(features)
    hidden = keras.layers.Dropout(config.recurrent.dropout)(hidden)
    stack = RecurrentStack(**dataclasses.asdict(config.recurrent), bidirectional=True, return_sequences=True)
    hidden = stack(hidden)
    hidden = keras.layers.Dropout(config.recurrent.dropout)(hidden)
    scores = keras.layers.Dense(num_tags, name="tag_scores")(hidden)
    trainer = keras.Model(tokens, scores, name="ner_trainer")
    if config.output_layer == "crf":
        crf = CRF(num_tags, name="crf")
        tag_ids = crf(scores)
        # The CRF decodes only in the tagger, but the trainer's loss reads its transitions: as an
        # attribute of the trainer, its weights are trained, averaged and checkpointed with the rest.
        trainer.crf = crf
    else:
        tag_ids = keras.ops.cast(keras.ops.argmax(scores, axis=-1), "int32")
    return trainer, keras.Model(tokens, tag_ids, name="ner_tagger")


def tagger_loss(config, tagger):
    """The training loss for `trainer`'s tag scores, given labels padded with `PAD_LABEL`."""
    if config.output_layer == "crf":
        return CRFLoss(tagger.get_layer("crf"))
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=text.PAD_LABEL)
