"""Skip-gram word vectors (zoo.word_vectors) and NER's corpus for them (tasks.ner.word_vectors)."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tasks.ner import word_vectors as ner_vectors
from tests import fixtures
from zoo import word_vectors
from zoo.word_vectors import SkipGramConfig, WordVectors


def _sentences(rows):
    return tf.ragged.constant(rows, dtype=tf.string)


def test_count_words_orders_by_count_and_marks_rare_tokens():
    words, counts, token_ids = word_vectors.count_words(_sentences([["b", "a", "c"], ["a", "b", "a"]]), min_count=2)
    assert words == ["a", "b"] and counts.tolist() == [3, 2]
    assert token_ids.tolist() == [1, 0, -1, 0, 1, 0]


def test_pairs_stay_within_the_window_and_the_sentence():
    # Each token is its own word, so a pair's word ids give its positions.
    rows = [[f"w{i}" for i in range(12)], [f"v{i}" for i in range(7)]]
    sentences = _sentences(rows)
    words, counts, token_ids = word_vectors.count_words(sentences, min_count=1)
    config = SkipGramConfig(window=3, subsample=0.0)
    centres, contexts = word_vectors.skip_gram_pairs(
        token_ids, sentences.value_rowids().numpy(), counts, config, np.random.default_rng(0)
    )
    position = {word: (word[0], int(word[1:])) for word in words}
    for centre, context in zip(centres, contexts):
        (row, i), (other_row, j) = position[words[centre]], position[words[context]]
        assert row == other_row and 1 <= abs(i - j) <= 3
    # Every centre reaches at least its neighbours at distance 1.
    neighbours = {(words[a], words[b]) for a, b in zip(centres, contexts)}
    assert all((f"w{i}", f"w{i + 1}") in neighbours and (f"w{i + 1}", f"w{i}") in neighbours for i in range(11))
    again = word_vectors.skip_gram_pairs(
        token_ids, sentences.value_rowids().numpy(), counts, config, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(again[0], centres)


def test_subsampling_drops_frequent_words_more_often():
    rows = [["the"] * 50 + [f"rare{i}" for i in range(50)]] * 20
    sentences = _sentences(rows)
    words, counts, token_ids = word_vectors.count_words(sentences, min_count=1)
    centres, _ = word_vectors.skip_gram_pairs(
        token_ids,
        sentences.value_rowids().numpy(),
        counts,
        SkipGramConfig(window=1, subsample=1e-3),
        np.random.default_rng(0),
    )
    centre_words = np.array(words)[centres]
    assert (centre_words == "the").sum() < 0.5 * np.char.startswith(centre_words, "rare").sum()


def test_words_that_share_contexts_get_similar_vectors():
    rng = np.random.default_rng(0)
    animals, places = ["cat", "dog", "horse"], ["paris", "rome", "oslo"]
    rows = []
    for _ in range(400):
        rows.append(["the", rng.choice(animals), "eats", "grass", "and", "sleeps"])
        rows.append(["we", "flew", "to", rng.choice(places), "by", "plane"])
    config = SkipGramConfig(dim=16, window=2, min_count=1, epochs=5, batch_size=64, subsample=0.0)
    vectors = word_vectors.train_word_vectors(_sentences(rows), config, log=lambda line: None)
    assert vectors.vectors.shape == (len(vectors.words), 16) and np.isfinite(vectors.vectors).all()
    closest = [word for word, _ in word_vectors.nearest(vectors, "cat", 2)]
    assert set(closest) == {"dog", "horse"}


def test_save_and_load_round_trip(tmp_path):
    vectors = WordVectors(["a", "b"], np.array([5, 3]), np.arange(6, dtype=np.float32).reshape(2, 3))
    word_vectors.save(tmp_path / "v.npz", vectors, corpus={"tokens": 8})
    loaded, metadata = word_vectors.load(tmp_path / "v.npz")
    assert loaded.words == ["a", "b"] and metadata == {"corpus": {"tokens": 8}}
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)
    np.testing.assert_array_equal(loaded.counts, vectors.counts)


@pytest.mark.parametrize("field, value", [("dim", 0), ("window", 0), ("negatives", -1), ("learning_rate", 0.0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        SkipGramConfig(**{field: value})


def test_no_word_frequent_enough_is_an_error():
    with pytest.raises(ValueError, match="no word occurs 3 times"):
        word_vectors.train_word_vectors(_sentences([["a", "b"]]), SkipGramConfig(min_count=3))


def test_ner_corpus_reads_reviews_distinct_anki_sentences_and_conll_train_only(tmp_path):
    fixtures.write_conll(tmp_path, sizes=(30, 20, 20))
    fixtures.write_imdb(tmp_path, train_size=8, test_size=6)
    fixtures.write_anki(tmp_path, size=40)
    sentences, sizes = ner_vectors.english_corpus(tmp_path)
    distinct_english = len(set(ner_vectors.corpora.load_anki("spa", tmp_path)[1]))
    assert {name: count for name, (count, _) in sizes.items()} == {
        "imdb": 14,
        "anki": distinct_english,
        "conll_train": 30,
    }
    assert sentences.shape[0] == 14 + distinct_english + 30
    flat = set(sentences.flat_values.numpy().tolist())
    # Normalized as the tagger looks words up, tokenized as it tokenizes, HTML line breaks gone.
    assert b"john" in flat and b"John" not in flat and b"br" not in flat and b"." in flat


def test_ner_word_vectors_command_writes_vectors_and_how_they_were_made(tmp_path):
    fixtures.write_conll(tmp_path, sizes=(30, 20, 20))
    fixtures.write_imdb(tmp_path, train_size=8, test_size=6)
    fixtures.write_anki(tmp_path, size=40)
    out = tmp_path / "vectors.npz"
    ner_vectors.main(
        ["--data-dir", str(tmp_path), "--out", str(out), "--dim", "8", "--min-count", "2", "--epochs", "1"]
    )
    vectors, metadata = word_vectors.load(out)
    assert vectors.vectors.shape == (len(vectors.words), 8) and vectors.counts.min() >= 2
    assert metadata["config"] == dataclasses.asdict(
        ner_vectors.WordVectorsConfig(dim=8, min_count=2, epochs=1, data_dir=str(tmp_path), out=str(out))
    )
    assert metadata["corpus"]["conll_train"]["sequences"] == 30
