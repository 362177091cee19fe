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

import tensorflow as tf

NEG_INF = float("-inf")


def _decode(step_fn, state, context, start_ids, end_id, max_length, choose):
    """The loop greedy search and sampling share: `choose(log_probs, step) -> tokens (n,)`."""
    start_ids = tf.cast(start_ids, tf.int32)
    batch = tf.shape(start_ids)[0]

    def not_done(step, tokens, state, finished, lengths, log_prob, history):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(finished)))

    def body(step, tokens, state, finished, lengths, log_prob, history):
        log_probs, state = step_fn(tokens, state, context)
        chosen = tf.cast(choose(log_probs, step), tf.int32)
        chosen = tf.where(finished, end_id, chosen)
        token_log_prob = tf.gather(log_probs, chosen, batch_dims=1)
        log_prob += tf.where(finished, 0.0, token_log_prob)
        ended = tf.equal(chosen, end_id)
        lengths += tf.cast(tf.logical_not(tf.logical_or(finished, ended)), tf.int32)
        history = history.write(step, chosen)
        return step + 1, chosen, state, tf.logical_or(finished, ended), lengths, log_prob, history

    _, _, _, _, lengths, log_prob, history = tf.while_loop(
        not_done,
        body,
        (
            tf.constant(0),
            start_ids,
            state,
            tf.zeros([batch], tf.bool),
            tf.zeros([batch], tf.int32),
            tf.zeros([batch], tf.float32),
            tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]),
        ),
    )
    ids = tf.reshape(tf.transpose(history.stack()), [batch, -1])
    return {"ids": ids, "lengths": lengths, "log_prob": log_prob}


def greedy_search(step_fn, state, context, start_ids, end_id, max_length):
    """Picks the most likely token at every step.

    Returns:
        dict: `ids` `(batch, time)`, `lengths` `(batch,)`, `log_prob` `(batch,)` = log P(ids | input)
        including the end token when one was produced.
    """
    return _decode(step_fn, state, context, start_ids, end_id, max_length,
                   lambda log_probs, step: tf.argmax(log_probs, axis=-1))


def filter_log_probs(log_probs, temperature=1.0, top_k=0, top_p=1.0):
    """Scaled and truncated log-probabilities to sample from (unnormalized; -inf where excluded).

    Args:
        temperature: divides the log-probabilities; below 1 sharpens, above 1 flattens.
        top_k: keep only the `top_k` most likely tokens; 0 keeps all.
        top_p: keep the smallest set of most likely tokens whose probability reaches `top_p`
            (nucleus sampling); 1 keeps all. The most likely token is always kept.
    """
    logits = log_probs / tf.cast(temperature, log_probs.dtype)
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
    """
    seed = tf.cast(seed, tf.int32)

    def choose(log_probs, step):
        logits = filter_log_probs(log_probs, temperature, top_k, top_p)
        step_seed = tf.stack([seed[0], seed[1] + step])
        return tf.random.stateless_categorical(logits, 1, step_seed, dtype=tf.int32)[:, 0]

    return _decode(step_fn, state, context, start_ids, end_id, max_length, choose)


def length_normalized(log_prob, length, alpha):
    """The beam search score: `log_prob / length ** alpha`."""
    return log_prob / tf.pow(tf.cast(tf.maximum(length, 1), log_prob.dtype), tf.cast(alpha, log_prob.dtype))


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

    def live(log_prob, finished):
        return tf.logical_and(tf.logical_not(finished), log_prob > NEG_INF)

    def not_done(step, state, log_prob, scores, lengths, finished, history):
        return tf.logical_and(step < max_length, tf.reduce_any(live(log_prob, finished)))

    def body(step, state, log_prob, scores, lengths, finished, history):
        tokens = tf.reshape(history[:, :, -1], [-1])
        step_log_probs, state = step_fn(tokens, state, context)
        vocab = tf.shape(step_log_probs)[-1]
        step_log_probs = tf.reshape(step_log_probs, [batch, beam_width, vocab])
        only_end = tf.where(tf.range(vocab) == end_id, 0.0, NEG_INF)
        step_log_probs = tf.where(finished[..., None], only_end, step_log_probs)

        candidate_log_prob = log_prob[..., None] + step_log_probs
        candidate_lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        candidate_scores = length_normalized(candidate_log_prob, candidate_lengths[..., None], alpha)
        scores, flat_index = tf.math.top_k(tf.reshape(candidate_scores, [batch, -1]), k=beam_width)
        parent, token = flat_index // vocab, flat_index % vocab

        log_prob = tf.gather(tf.reshape(candidate_log_prob, [batch, -1]), flat_index, batch_dims=1)
        lengths = tf.gather(candidate_lengths, parent, batch_dims=1)
        finished = tf.logical_or(tf.gather(finished, parent, batch_dims=1), tf.equal(token, end_id))
        history = tf.concat([tf.gather(history, parent, batch_dims=1), token[..., None]], axis=-1)
        rows = tf.reshape(parent + beam_width * tf.range(batch)[:, None], [-1])
        state = tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), state)
        return step + 1, state, log_prob, scores, lengths, finished, history

    zeros = tf.zeros([batch, beam_width], tf.int32)
    _, _, log_prob, scores, lengths, finished, history = tf.while_loop(
        not_done,
        body,
        (
            tf.constant(0),
            state,
            log_prob,
            log_prob,
            zeros,
            tf.zeros([batch, beam_width], tf.bool),
            tf.reshape(tf.repeat(start_ids, beam_width), [batch, beam_width, 1]),
        ),
        shape_invariants=(
            tf.TensorShape([]),
            tf.nest.map_structure(lambda tensor: tf.TensorShape([None]).concatenate(tensor.shape[1:]), state),
            tf.TensorShape([None, None]),
            tf.TensorShape([None, None]),
            tf.TensorShape([None, None]),
            tf.TensorShape([None, None]),
            tf.TensorShape([None, None, None]),
        ),
    )
    ids = history[:, :, 1:]
    # `lengths` counted the end token, which the returned sequences leave out.
    lengths -= tf.cast(finished, tf.int32)
    ids = tf.where(tf.range(tf.shape(ids)[-1]) < lengths[..., None], ids, end_id)
    return {"ids": ids, "lengths": lengths, "scores": scores, "log_prob": log_prob}
