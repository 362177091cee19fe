"""Autoregressive decoding with graph ops: greedy, sampling, and beam search with length normalization.

Every function drives a model through one `step_fn(tokens, state, context) -> (log_probs, state)`:

    tokens:    int32 `(n,)`, the previous token of each of the `n` sequences being decoded.
    state:     a nested structure of tensors with leading dimension `n` (e.g. an LSTM's `[h, c]`);
               beam search reorders it when beams are pruned.
    context:   a nested structure with leading dimension `n` that never changes (e.g. encoder
               outputs and the source mask); beam search repeats it once per beam and never reorders it.
    log_probs: float `(n, vocab)`, log P(next token | prefix), -inf for tokens the model forbids.

The loops are `tf.while_loop`s, so they run inside `tf.function` and inside a SavedModel, and stop as
soon as every sequence has produced `end_id` (or after `max_length` tokens).

Returned token ids are int32 `(batch, time)` (beam search: `(batch, beam, time)`), padded with `end_id`
after each sequence's end; `lengths` counts the tokens before `end_id`.
"""

from typing import Any, NamedTuple

import tensorflow as tf

from zoo.checks import checked

NEG_INF = float("-inf")


class DecodeState(NamedTuple):
    """The loop state of greedy search and sampling, one row per sequence."""

    step: tf.Tensor  # scalar int32, tokens chosen so far
    tokens: tf.Tensor  # (n,) the last chosen token
    model_state: Any  # the step function's state
    finished: tf.Tensor  # (n,) bool, `end_id` was chosen
    lengths: tf.Tensor  # (n,) tokens before `end_id`
    log_prob: tf.Tensor  # (n,) log P(chosen tokens)
    history: tf.TensorArray  # the chosen tokens, one (n,) row per step


def _decode(step_fn, state, context, start_ids, end_id, max_length, choose):
    """The loop greedy search and sampling share: `choose(log_probs, step) -> tokens (n,)`."""
    start_ids = tf.cast(start_ids, tf.int32)
    batch = tf.shape(start_ids)[0]

    def not_done(loop):
        return tf.logical_and(loop.step < max_length, tf.logical_not(tf.reduce_all(loop.finished)))

    def body(loop):
        log_probs, model_state = step_fn(loop.tokens, loop.model_state, context)
        chosen = tf.cast(choose(log_probs, loop.step), tf.int32)
        chosen = tf.where(loop.finished, end_id, chosen)
        token_log_prob = tf.gather(log_probs, chosen, batch_dims=1)
        ended = tf.equal(chosen, end_id)
        return DecodeState(
            step=loop.step + 1,
            tokens=chosen,
            model_state=model_state,
            finished=tf.logical_or(loop.finished, ended),
            lengths=loop.lengths + tf.cast(tf.logical_not(tf.logical_or(loop.finished, ended)), tf.int32),
            log_prob=loop.log_prob + tf.where(loop.finished, 0.0, token_log_prob),
            history=loop.history.write(loop.step, chosen),
        )

    initial = DecodeState(
        step=tf.constant(0),
        tokens=start_ids,
        model_state=state,
        finished=tf.zeros([batch], tf.bool),
        lengths=tf.zeros([batch], tf.int32),
        log_prob=tf.zeros([batch], tf.float32),
        history=tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]),
    )
    (final,) = tf.while_loop(not_done, lambda loop: (body(loop),), (initial,))
    # No step ran (`max_length` 0 or no rows): an empty list of rows of unknown width cannot be stacked.
    ids = tf.cond(
        final.step > 0,
        lambda: tf.reshape(tf.transpose(final.history.stack()), [batch, -1]),
        lambda: tf.zeros([batch, 0], tf.int32),
    )
    return {"ids": ids, "lengths": final.lengths, "log_prob": final.log_prob}


def greedy_search(step_fn, state, context, start_ids, end_id, max_length):
    """Picks the most likely token at every step.

    Returns:
        dict: `ids` `(batch, time)`, `lengths` `(batch,)`, `log_prob` `(batch,)` = log P(ids | input)
        including the end token when one was produced.
    """
    return _decode(
        step_fn, state, context, start_ids, end_id, max_length, lambda log_probs, step: tf.argmax(log_probs, axis=-1)
    )


def checked_sampling_arguments(temperature, top_k, top_p):
    """`(temperature, top_k, top_p)` as float32, int32, float32, checked (see `zoo.checks.checked`) to lie where
    `filter_log_probs` defines them: a finite temperature >= 0, `top_k` >= 0, `top_p` in [0, 1]."""
    temperature, top_k, top_p = tf.cast(temperature, tf.float32), tf.cast(top_k, tf.int32), tf.cast(top_p, tf.float32)
    return checked(
        [
            (
                tf.math.is_finite(temperature) & (temperature >= 0),
                ["temperature must be a finite number >= 0 (0 picks the most likely token), got", temperature],
            ),
            (top_k >= 0, ["top_k must be >= 0 (0 keeps every token), got", top_k]),
            ((top_p >= 0) & (top_p <= 1), ["top_p must be in [0, 1] (1 keeps every token), got", top_p]),
        ],
        temperature,
        top_k,
        top_p,
    )


def filter_log_probs(log_probs, temperature=1.0, top_k=0, top_p=1.0):
    """Scaled and truncated log-probabilities to sample from (unnormalized; -inf where excluded).

    Args:
        temperature: divides the log-probabilities; below 1 sharpens, above 1 flattens, 0 keeps only the most
            likely tokens (greedy; ties share the probability).
        top_k: keep only the `top_k` most likely tokens; 0 keeps all.
        top_p: keep the smallest set of most likely tokens whose probability reaches `top_p`
            (nucleus sampling); 1 keeps all. The most likely token is always kept.
    """
    # Shifted so the most likely token is at 0: dividing by the tiniest temperature then leaves it finite.
    shifted = log_probs - tf.reduce_max(log_probs, axis=-1, keepdims=True)
    temperature = tf.cast(temperature, log_probs.dtype)
    logits = tf.where(
        temperature > 0,
        shifted / tf.where(temperature > 0, temperature, 1.0),
        tf.where(shifted < 0, NEG_INF, 0.0),
    )
    vocab = tf.shape(logits)[-1]
    top_k = tf.cast(top_k, tf.int32)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    kth = tf.gather(sorted_logits, k - 1, axis=-1)[..., None]
    probs = tf.nn.softmax(sorted_logits, axis=-1)
    # A token stays when the tokens before it in the sorted order hold less than top_p.
    mass_before = tf.cumsum(probs, axis=-1, exclusive=True)
    kept = tf.cast(mass_before < tf.cast(top_p, probs.dtype), tf.int32)
    nucleus_size = tf.maximum(tf.reduce_sum(kept, axis=-1, keepdims=True), 1)
    nucleus_floor = tf.gather(sorted_logits, nucleus_size - 1, batch_dims=1)
    floor = tf.maximum(kth, nucleus_floor)
    return tf.where(logits >= floor, logits, NEG_INF)


def sample(step_fn, state, context, start_ids, end_id, max_length, seed, temperature=1.0, top_k=0, top_p=1.0):
    """Samples each token from the filtered next-token distribution (see `filter_log_probs`).

    Args:
        seed: int32 `(2,)`, a stateless seed: the same seed gives the same samples, in eager mode,
            in a `tf.function` and in a SavedModel.

    Returns:
        dict like `greedy_search`; `log_prob` is under the model's unfiltered distribution.

    Raises:
        tf.errors.InvalidArgumentError: for sampling arguments outside `checked_sampling_arguments`' ranges.
    """
    temperature, top_k, top_p = checked_sampling_arguments(temperature, top_k, top_p)
    seed = tf.cast(seed, tf.int32)

    def choose(log_probs, step):
        logits = filter_log_probs(log_probs, temperature, top_k, top_p)
        step_seed = tf.stack([seed[0], seed[1] + step])
        return tf.random.stateless_categorical(logits, 1, step_seed, dtype=tf.int32)[:, 0]

    return _decode(step_fn, state, context, start_ids, end_id, max_length, choose)


def length_normalized(log_prob, length, alpha):
    """The beam search score: `log_prob / length ** alpha`."""
    return log_prob / tf.pow(tf.cast(tf.maximum(length, 1), log_prob.dtype), tf.cast(alpha, log_prob.dtype))


class BeamState(NamedTuple):
    """The beam search loop state: `(batch, beam)` per input, or `batch * beam` rows for the model."""

    step: tf.Tensor  # scalar int32, tokens chosen so far
    model_state: Any  # the step function's state, `batch * beam` rows
    log_prob: tf.Tensor  # (batch, beam) log P(beam), -inf for beams not started
    scores: tf.Tensor  # (batch, beam) length-normalized `log_prob`, sorted best first
    lengths: tf.Tensor  # (batch, beam) tokens including the end token
    finished: tf.Tensor  # (batch, beam) bool, the beam ended
    history: tf.Tensor  # (batch, beam, 1 + step) the start token and the chosen tokens


def beam_search(step_fn, state, context, start_ids, end_id, max_length, beam_width, alpha=0.0):
    """Batched beam search, ranked by `log P(y | x) / Ty ** alpha`.

    `Ty` counts the generated tokens including the end token. At every step each live beam proposes
    every next token and the `beam_width` best candidates by normalized score survive; a finished
    beam proposes only itself, unchanged, so it competes with the live ones until the end and stays
    finished. The loop stops when every beam of every input has finished.

    Args:
        beam_width: beams per input (a Python int or a scalar tensor); 1 is greedy search.
        alpha: length-normalization exponent; 0 ranks by raw log-probability, which favours short
            outputs, 1 by the mean log-probability per token.

    Returns:
        dict, beams sorted best first: `ids` `(batch, beam, time)`, `lengths` `(batch, beam)`,
        `scores` `(batch, beam)` (normalized), `log_prob` `(batch, beam)` (raw).
    """
    start_ids = tf.cast(start_ids, tf.int32)
    beam_width = tf.cast(beam_width, tf.int32)
    batch = tf.shape(start_ids)[0]

    def per_beam(tensor):
        return tf.repeat(tensor, beam_width, axis=0)

    state = tf.nest.map_structure(per_beam, state)
    context = tf.nest.map_structure(per_beam, context)
    # Only the first beam is live at the start, so the first step's candidates are not duplicated.
    log_prob = tf.tile(tf.where(tf.range(beam_width) == 0, 0.0, NEG_INF)[None], [batch, 1])

    def live(loop):
        return tf.logical_and(tf.logical_not(loop.finished), loop.log_prob > NEG_INF)

    def not_done(loop):
        return tf.logical_and(loop.step < max_length, tf.reduce_any(live(loop)))

    def body(loop):
        tokens = tf.reshape(loop.history[:, :, -1], [-1])
        step_log_probs, model_state = step_fn(tokens, loop.model_state, context)
        vocab = tf.shape(step_log_probs)[-1]
        step_log_probs = tf.reshape(step_log_probs, [batch, beam_width, vocab])
        only_end = tf.where(tf.range(vocab) == end_id, 0.0, NEG_INF)
        step_log_probs = tf.where(loop.finished[..., None], only_end, step_log_probs)

        candidate_log_prob = loop.log_prob[..., None] + step_log_probs
        candidate_lengths = loop.lengths + tf.cast(tf.logical_not(loop.finished), tf.int32)
        candidate_scores = length_normalized(candidate_log_prob, candidate_lengths[..., None], alpha)
        scores, flat_index = tf.math.top_k(tf.reshape(candidate_scores, [batch, -1]), k=beam_width)
        parent, token = flat_index // vocab, flat_index % vocab

        rows = tf.reshape(parent + beam_width * tf.range(batch)[:, None], [-1])
        return BeamState(
            step=loop.step + 1,
            model_state=tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), model_state),
            log_prob=tf.gather(tf.reshape(candidate_log_prob, [batch, -1]), flat_index, batch_dims=1),
            scores=scores,
            lengths=tf.gather(candidate_lengths, parent, batch_dims=1),
            finished=tf.logical_or(tf.gather(loop.finished, parent, batch_dims=1), tf.equal(token, end_id)),
            history=tf.concat([tf.gather(loop.history, parent, batch_dims=1), token[..., None]], axis=-1),
        )

    initial = BeamState(
        step=tf.constant(0),
        model_state=state,
        log_prob=log_prob,
        scores=log_prob,
        lengths=tf.zeros([batch, beam_width], tf.int32),
        finished=tf.zeros([batch, beam_width], tf.bool),
        history=tf.reshape(tf.repeat(start_ids, beam_width), [batch, beam_width, 1]),
    )
    # Beams grow along time; the state's rows are batch * beam, unknown when tracing.
    invariants = BeamState(
        step=tf.TensorShape([]),
        model_state=tf.nest.map_structure(lambda tensor: tf.TensorShape([None]).concatenate(tensor.shape[1:]), state),
        log_prob=tf.TensorShape([None, None]),
        scores=tf.TensorShape([None, None]),
        lengths=tf.TensorShape([None, None]),
        finished=tf.TensorShape([None, None]),
        history=tf.TensorShape([None, None, None]),
    )
    (final,) = tf.while_loop(not_done, lambda loop: (body(loop),), (initial,), shape_invariants=(invariants,))
    # `lengths` counted the end token, which the returned sequences leave out.
    lengths = final.lengths - tf.cast(final.finished, tf.int32)
    ids = final.history[:, :, 1:]
    ids = tf.where(tf.range(tf.shape(ids)[-1]) < lengths[..., None], ids, end_id)
    return {"ids": ids, "lengths": lengths, "scores": final.scores, "log_prob": final.log_prob}
