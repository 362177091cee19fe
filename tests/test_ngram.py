"""Interpolated Kneser-Ney n-grams: a distribution at every context, a hand-computed value, order choice, and the
`NGramTable` that a graph reads them from."""

import math

import numpy as np
import pytest

from zoo import metrics, ngram
from zoo.layers import NGramTable

NAMES = ["tyrannosaurus", "triceratops", "stegosaurus", "velociraptor", "brachiosaurus", "allosaurus"]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_probabilities_sum_to_one_at_every_context(order):
    model = ngram.KneserNey(order).fit(NAMES)
    vocabulary = sorted(set("".join(NAMES))) + ["\n"]
    for context in (["\n"] * 4, list("\n\nsaur"), list("xyzzy"), []):
        total = sum(model.probability(token, context) for token in vocabulary)
        total += model.probability("<never seen>", context)  # the unknown token's share
        assert total == pytest.approx(1.0, abs=1e-12)


def test_bigram_probability_by_hand():
    # Order 2 counts: (end a) 2, (a b) 2, (b end) 2: no count of 1, so the discount falls back to 0.5.
    # Unigram continuation counts a, b, end: 1 each, discount 1, so P1 is uniform over a, b, end, unknown.
    model = ngram.KneserNey(2).fit(["ab", "ab"])
    assert model.discounts == {2: 0.5, 1: 1.0}
    assert model.probability("b", ["a"]) == pytest.approx((2 - 0.5) / 2 + 0.5 * 1 / 2 * 0.25)
    assert model.log_prob("ab") == pytest.approx(3 * math.log(0.8125))


def test_unseen_tokens_get_finite_scores_and_best_order_is_chosen_on_validation():
    model, scores = ngram.best_order(NAMES[:4], NAMES[4:], orders=(2, 3))
    assert set(scores) == {2, 3} and scores[model.order] == min(scores.values())
    assert math.isfinite(model.log_prob("ñandú!")) and model.log_prob("") < 0
    assert metrics.bits_per_token(*model.score_all(["saurus"])) > 0


def test_samples_follow_the_counts_and_stop_at_the_end_or_never():
    model = ngram.KneserNey(3).fit(NAMES * 3)
    rng = np.random.default_rng(0)
    samples = ["".join(model.sample(40, rng)) for _ in range(200)]
    # Every name starts with one of five letters; the smoothed model mostly does too, not always.
    starts = sum(sample[:1] in {name[0] for name in NAMES} for sample in samples)
    assert 150 < starts < 200 and sum(sample in NAMES for sample in samples) > 10
    assert all(set(sample) <= set("".join(NAMES)) for sample in samples)
    endless = model.sample(50, rng, stop_at_end=False)
    assert len(endless) == 50 and "\n" not in endless


@pytest.mark.parametrize("order", [2, 4])
def test_ngram_table_gives_the_kneser_ney_probabilities_at_every_position(order):
    model = ngram.KneserNey(order).fit(NAMES)
    assert model.histories()[0] == ()
    # Ids as a language model numbers them: 0 pads, 1 is the unknown token, 2 the end, then the characters.
    chars = sorted(set("".join(NAMES)))
    token_ids = {**{char: 3 + index for index, char in enumerate(chars)}, "\n": 2}
    table = NGramTable.from_model(model, token_ids, 1, 3 + len(chars), 2)
    np.testing.assert_allclose(table.probabilities.numpy().sum(axis=1), 1.0, rtol=1e-5)
    for name in ("tyrannosaurus", "saurosaurus", "qxé saur", ""):
        ids = [2] + [token_ids.get(char, 1) for char in name]
        probabilities = table(np.array([ids])).numpy()[0]
        context = ["\n"] * (order - 1)
        for position, char in enumerate(list(name) + ["\n"]):
            expected = model.probability(char, context)
            assert probabilities[position, token_ids.get(char, 1)] == pytest.approx(expected, rel=1e-5)
            context = context[1:] + [char]
        assert np.all(probabilities[:, 0] == 0)  # padding is never next


def test_history_counts_count_each_context_and_a_suffix_at_least_as_often():
    model = ngram.KneserNey(3).fit(["abab", "ba"])
    counts = model.history_counts()
    # Positions (each sequence's end included): 5 + 3; "a" is the context of 3 of them, "ba" of 2, ("\n", "b") of 1.
    assert counts[()] == 8 and counts[("a",)] == 3 and counts[("b", "a")] == 2 and counts[("\n", "b")] == 1
    assert set(counts) == set(model.histories())
    assert all(counts[history[1:]] >= count for history, count in counts.items() if history)


def test_a_table_of_the_most_frequent_contexts_reads_each_other_context_at_its_longest_kept_suffix():
    model = ngram.KneserNey(4).fit(NAMES)
    chars = sorted(set("".join(NAMES)))
    token_ids = {**{char: 3 + index for index, char in enumerate(chars)}, "\n": 2}
    counts = model.history_counts()
    table = NGramTable.from_model(model, token_ids, 1, 3 + len(chars), 2, max_contexts=40)
    assert table.num_contexts == 40
    kept = sorted(counts, key=lambda history: (-counts[history], len(history), repr(history)))[:40]
    assert all(history[1:] in kept for history in kept if history)  # suffix-closed, the empty context first
    name = "brachiosaurus"
    probabilities = table(np.array([[2] + [token_ids[char] for char in name]])).numpy()[0]
    context = ("\n",) * 3
    for position, char in enumerate(list(name) + ["\n"]):
        suffix = next(context[start:] for start in range(4) if context[start:] in kept)
        padded = (None,) * (3 - len(suffix)) + suffix  # a token it never saw: no context there
        assert probabilities[position, token_ids[char]] == pytest.approx(model.probability(char, padded), rel=1e-5)
        context = context[1:] + (char,)


def test_a_table_of_text_without_some_tokens_still_sums_to_one():
    # An n-gram of other text may lack some of the corpus's characters: they share its unknown token's chance.
    model = ngram.KneserNey(2).fit(["abab"])
    table = NGramTable.from_model(model, {"a": 3, "b": 4, "c": 5, "\n": 2}, 1, 6, 2)
    np.testing.assert_allclose(table.probabilities.numpy().sum(axis=1), 1.0, rtol=1e-6)
    probabilities = table.probabilities.numpy()
    np.testing.assert_allclose(probabilities[:, 5], probabilities[:, 1])
