"""CoNLL-style tokenization with offsets, and word features (casing, characters)."""

import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import words

CASES = {
    "Yesterday, Harry Potter met Hermione Granger in London.": "Yesterday , Harry Potter met Hermione Granger in London .",
    "The U.S. said Germany's 1,000 troops (3.5%) won't leave.": "The U.S. said Germany 's 1,000 troops ( 3.5 % ) wo n't leave .",
    'J. Smith paid $5 on 1996-08-22 at 1:54.342 in "Anglo-Dutch" talks...': 'J. Smith paid $ 5 on 1996-08-22 at 1:54.342 in " Anglo-Dutch " talks ...',
    "": "",
    "  \t ": "",
    "?!": "? !",
    "Москва и Париж": "Москва и Париж",
}


def _split(sentences):
    tokens, starts, ends = words.split_words(tf.constant(sentences))
    return [[t.decode() for t in row] for row in tokens.to_list()], starts.to_list(), ends.to_list()


def test_split_words_like_conll():
    tokens, _, _ = _split(list(CASES))
    assert [" ".join(row) for row in tokens] == list(CASES.values())


def test_offsets_point_into_the_input():
    sentences = list(CASES) + ["Zürich\u00a0and\u2028Köln,\x1fnext", "a" * 5000 + " end"]
    tokens, starts, ends = _split(sentences)
    for sentence, row, row_starts, row_ends in zip(sentences, tokens, starts, ends):
        assert [sentence[s:e] for s, e in zip(row_starts, row_ends)] == row
    assert tokens[-2] == ["Zürich", "and", "Köln", ",", "next"]


def test_invalid_utf8_becomes_replacement_characters():
    tokens, starts, ends = words.split_words(tf.constant([b"caf\xe9 ok"]))
    assert [t.decode() for t in tokens[0].numpy()] == ["caf\ufffd", "ok"]
    assert starts.to_list() == [[0, 5]] and ends.to_list() == [[4, 7]]


def test_casing_classes():
    tokens = tf.constant([["Harry", "USA", "the", "1996", "3.5", ",", "iPhone", "A1", "Ω", ""]])
    names = ["title", "upper", "lower", "numeric", "has_digit", "punctuation", "mixed_letters", "has_digit", "upper"]
    order = [name for name, _ in words.CASINGS]
    expected = [[order.index(name) + 1 for name in names] + [0]]
    np.testing.assert_array_equal(words.casing_ids(tokens), expected)
    assert words.casing_ids(tf.constant(["\u2603\u2603x"])).numpy()[0] == words.CASING_VOCAB_SIZE - 1


def test_char_ids_and_normalized_words():
    ids = words.char_ids(tf.constant([["ab", "Zü", ""]]), 3).numpy()
    np.testing.assert_array_equal(ids, [[[98, 99, 0], [91, words.CHAR_VOCAB_SIZE - 1, 0], [0, 0, 0]]])
    assert words.char_ids(tf.constant([["abcdef"]]), 2).shape == (1, 1, 2)
    assert words.normalize_words(tf.constant(["Hello1996"])).numpy().tolist() == [b"hello0000"]


@pytest.mark.parametrize("count", [1, 3])
def test_split_words_batch_rows_are_independent(count):
    sentences = list(CASES)[:count]
    together, _, _ = _split(sentences)
    assert together == [_split([sentence])[0][0] for sentence in sentences]
