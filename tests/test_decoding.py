"""zoo.decoding against hand-written next-token models with known probabilities."""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from zoo import decoding

END, START = 0, 1  # tokens 2.. are words


def markov_step(tables):
    """A `step_fn` whose next-token distribution depends only on the previous token.

    `tables[m][previous]` is the distribution of model `m`; each input picks its model through the
    `context` (so the inputs of one batch can follow different models).
    """
    log_tables = tf.math.log(tf.constant(np.stack(tables), tf.float32))

    def step_fn(tokens, state, context):
        return tf.gather_nd(log_tables, tf.stack([context, tokens], axis=1)), state + 1

    return step_fn


def table(transitions, vocab):
    """A `(vocab, vocab)` transition table from `{previous: {next: probability}}`; unlisted rows end."""
    rows = np.zeros((vocab, vocab), np.float32)
    rows[:, END] = 1.0
    for previous, nexts in transitions.items():
        rows[previous] = 0.0
        for token, probability in nexts.items():
            rows[previous, token] = probability
    return rows


A, B, C, D = 2, 3, 4, 5
# Greedy takes A (0.55) and then at best C (0.4): 0.22. B then the end is 0.45 * 0.9 = 0.405.
GREEDY_TRAP = table({START: {A: 0.55, B: 0.45}, A: {C: 0.4, D: 0.3, END: 0.3}, B: {END: 0.9, C: 0.1}}, 6)
# "A" is likelier (0.6) than "B C D" (0.4), but per token "B C D </s>" is likelier.
SHORT_OR_LONG = table({START: {A: 0.6, B: 0.4}, B: {C: 1.0}, C: {D: 1.0}}, 6)


def run(search, tables, models, **kwargs):
    models = tf.constant(models, tf.int32)
    start = tf.fill(tf.shape(models), START)
    return search(markov_step(tables), tf.zeros_like(models), models, start, END, **kwargs)


def brute_force(rows, max_length, alpha):
    """Every hypothesis beam search can return within `max_length` steps, best normalized score
    first: word sequences followed by the end, and `max_length` words that never ended."""
    vocab = rows.shape[0]
    hypotheses = [
        list(words) + [END] for n in range(max_length) for words in itertools.product(range(2, vocab), repeat=n)
    ]
    hypotheses += [list(words) for words in itertools.product(range(2, vocab), repeat=max_length)]
    scored = []
    for tokens in hypotheses:
        previous, log_prob = START, 0.0
        for token in tokens:
            log_prob += math.log(rows[previous, token]) if rows[previous, token] > 0 else -math.inf
            previous = token
        words = [token for token in tokens if token != END]
        scored.append((log_prob / len(tokens) ** alpha, words, log_prob))
    return sorted(scored, key=lambda item: -item[0])


def test_greedy_is_trapped_and_beam_search_is_not():
    greedy = run(decoding.greedy_search, [GREEDY_TRAP], [0], max_length=5)
    assert greedy["ids"][0, : greedy["lengths"][0]].numpy().tolist() == [A, C]
    np.testing.assert_allclose(greedy["log_prob"].numpy(), [math.log(0.55 * 0.4)], rtol=1e-5)

    beam = run(decoding.beam_search, [GREEDY_TRAP], [0], max_length=5, beam_width=2)
    assert beam["ids"][0, 0, : beam["lengths"][0, 0]].numpy().tolist() == [B]
    np.testing.assert_allclose(beam["log_prob"][0, 0].numpy(), math.log(0.45 * 0.9), rtol=1e-5)


def test_length_normalization_changes_the_winner():
    raw = run(decoding.beam_search, [SHORT_OR_LONG], [0], max_length=6, beam_width=2, alpha=0.0)
    normalized = run(decoding.beam_search, [SHORT_OR_LONG], [0], max_length=6, beam_width=2, alpha=1.0)
    assert raw["ids"][0, 0, : raw["lengths"][0, 0]].numpy().tolist() == [A]
    assert normalized["ids"][0, 0, : normalized["lengths"][0, 0]].numpy().tolist() == [B, C, D]
    np.testing.assert_allclose(normalized["scores"][0, 0].numpy(), math.log(0.4) / 4, rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
def test_wide_beam_finds_the_exhaustive_best(alpha):
    rows = np.random.default_rng(3).dirichlet(np.ones(4), size=4).astype(np.float32)
    rows[:, START] = 0.0
    rows /= rows.sum(axis=1, keepdims=True)
    result = run(decoding.beam_search, [rows], [0], max_length=4, beam_width=16, alpha=alpha)
    expected = brute_force(rows, 4, alpha)
    for rank in range(3):
        score, words, log_prob = expected[rank]
        assert result["ids"][0, rank, : result["lengths"][0, rank]].numpy().tolist() == words
        np.testing.assert_allclose(result["scores"][0, rank].numpy(), score, rtol=1e-4)
        np.testing.assert_allclose(result["log_prob"][0, rank].numpy(), log_prob, rtol=1e-4)


def test_finished_beams_stay_finished():
    # "A" ends at step 2 and must come out unchanged after the loop ran on for "B C D".
    result = run(decoding.beam_search, [SHORT_OR_LONG], [0], max_length=6, beam_width=2, alpha=0.0)
    ids, lengths = result["ids"].numpy()[0], result["lengths"].numpy()[0]
    assert ids.shape[-1] == 4  # the loop ran until "B C D </s>" ended, then stopped
    assert ids[0].tolist() == [A, END, END, END] and lengths[0] == 1
    assert ids[1].tolist() == [B, C, D, END] and lengths[1] == 3
    np.testing.assert_allclose(result["log_prob"].numpy()[0], [math.log(0.6), math.log(0.4)], rtol=1e-5)


def test_the_loop_stops_at_max_length_without_an_end():
    endless = table({START: {A: 1.0}, A: {A: 1.0}}, 4)
    greedy = run(decoding.greedy_search, [endless], [0], max_length=5)
    beam = run(decoding.beam_search, [endless], [0], max_length=5, beam_width=3)
    assert greedy["ids"].numpy().tolist() == [[A] * 5] and greedy["lengths"].numpy().tolist() == [5]
    assert beam["ids"].numpy()[0, 0].tolist() == [A] * 5 and beam["lengths"].numpy()[0, 0] == 5


def test_batch_entries_are_independent():
    tables = [GREEDY_TRAP, SHORT_OR_LONG]
    together = run(decoding.beam_search, tables, [0, 1, 0], max_length=6, beam_width=2, alpha=1.0)
    for row, model in enumerate([0, 1, 0]):
        alone = run(decoding.beam_search, tables, [model], max_length=6, beam_width=2, alpha=1.0)
        width = alone["ids"].shape[-1]
        np.testing.assert_array_equal(together["ids"][row, :, :width], alone["ids"][0])
        assert np.all(together["ids"].numpy()[row, :, width:] == END)
        np.testing.assert_allclose(together["scores"][row], alone["scores"][0], rtol=1e-6)


def test_beam_search_runs_in_a_tf_function_with_tensor_beam_width():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])
    def search(beam_width, alpha):
        return run(decoding.beam_search, [SHORT_OR_LONG], [0], max_length=6, beam_width=beam_width, alpha=alpha)

    assert search(tf.constant(2), tf.constant(1.0))["ids"].numpy()[0, 0, :3].tolist() == [B, C, D]
    assert search(tf.constant(1), tf.constant(0.0))["ids"].numpy()[0, 0, :1].tolist() == [A]


def test_filter_log_probs_top_k_and_top_p():
    log_probs = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))

    def kept(**kwargs):
        return np.isfinite(decoding.filter_log_probs(log_probs, **kwargs).numpy()[0]).tolist()

    assert kept() == [True] * 4
    assert kept(top_k=2) == [True, True, False, False]
    assert kept(top_p=0.5) == [True, False, False, False]
    assert kept(top_p=0.79) == [True, True, False, False]
    assert kept(top_p=0.81) == [True, True, True, False]
    assert kept(top_k=1, top_p=0.9) == [True, False, False, False]
    halved = tf.nn.log_softmax(decoding.filter_log_probs(log_probs, temperature=2.0)).numpy()
    np.testing.assert_allclose(halved, tf.nn.log_softmax(log_probs / 2).numpy(), rtol=1e-6)


def test_temperature_zero_keeps_the_most_likely_tokens_and_the_tiniest_keeps_the_likeliest_finite():
    log_probs = tf.math.log(tf.constant([[0.4, 0.4, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]]))
    for temperature in (0.0, 1e-45):
        filtered = decoding.filter_log_probs(log_probs, temperature=temperature).numpy()
        assert np.isfinite(filtered).tolist() == [[True, True, False, False], [False, False, False, True]]


def test_zero_steps_or_zero_rows_give_empty_ids():
    no_steps = run(decoding.sample, [GREEDY_TRAP], [0, 0], max_length=0, seed=[1, 2])
    assert no_steps["ids"].shape == (2, 0) and no_steps["lengths"].numpy().tolist() == [0, 0]
    no_rows = tf.function(
        lambda: run(decoding.sample, [GREEDY_TRAP], np.zeros([0], np.int32), max_length=4, seed=[1, 2])
    )()
    assert no_rows["ids"].shape == (0, 0) and no_rows["log_prob"].shape == (0,)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"temperature": -0.5}, "temperature must be a finite number >= 0"),
        ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
        ({"temperature": float("inf")}, "temperature must be a finite number >= 0"),
        ({"top_k": -1}, "top_k must be >= 0"),
        ({"top_p": 1.5}, r"top_p must be in \[0, 1\]"),
        ({"top_p": float("nan")}, r"top_p must be in \[0, 1\]"),
    ],
)
def test_sampling_arguments_out_of_range_are_a_clear_error_eagerly_and_in_a_graph(arguments, message):
    def sample():
        return run(decoding.sample, [GREEDY_TRAP], [0], max_length=4, seed=[1, 2], **arguments)

    for call in (sample, tf.function(sample)):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call()


def test_sampling_is_seeded_and_follows_the_distribution():
    models = [0] * 2000
    first = run(decoding.sample, [GREEDY_TRAP], models, max_length=4, seed=[7, 1])
    again = run(decoding.sample, [GREEDY_TRAP], models, max_length=4, seed=[7, 1])
    np.testing.assert_array_equal(first["ids"], again["ids"])
    share_a = np.mean(first["ids"].numpy()[:, 0] == A)
    assert abs(share_a - 0.55) < 0.04
    greedy_only = run(decoding.sample, [GREEDY_TRAP], models[:50], max_length=4, seed=[7, 1], top_k=1)
    assert np.all(greedy_only["ids"].numpy()[:, :2] == [A, C])
