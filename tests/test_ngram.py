"""Interpolated Kneser-Ney n-grams: a distribution at every context, a hand-computed value, order choice."""

import math

import numpy as np
import pytest

from zoo import metrics, ngram

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
