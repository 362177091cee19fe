"""From per-step probabilities to detection times, and detections scored against true trigger ends."""

import collections

import numpy as np
import tensorflow as tf


def detect(probabilities, threshold, refractory_steps, seconds_per_step):
    """Detections: a step where the probability rises to `threshold` (from below it) at least
    `refractory_steps` after the previous detection.

    Args:
        probabilities: float `(batch, steps)`.

    Returns:
        `(event_times, num_events)`: float32 `(batch, steps)` seconds at the end of each detecting step,
        padded with -1, and int32 `(batch,)`.
    """
    probabilities = tf.convert_to_tensor(probabilities, tf.float32)
    batch, steps = tf.shape(probabilities)[0], tf.shape(probabilities)[1]
    above = probabilities >= threshold
    rising = above & ~tf.pad(above, [[0, 0], [1, 0]])[:, :-1]

    def step(last, index):
        fires = rising[:, index] & (index - last >= refractory_steps)
        return tf.where(fires, index, last)

    # The last detection up to each step; a step detects where that changes to itself. One step more than
    # there are keeps the scan non-empty for audio shorter than a step.
    rising = tf.pad(rising, [[0, 0], [0, 1]])
    last = tf.scan(step, tf.range(steps + 1), initializer=tf.fill([batch], -(refractory_steps + 1)))
    fired = tf.transpose(last)[:, :steps] == tf.range(steps)[tf.newaxis]
    num_events = tf.reduce_sum(tf.cast(fired, tf.int32), axis=1)
    # Each row's detections first, in time order, then the padding.
    order = tf.argsort(tf.where(fired, tf.range(steps)[tf.newaxis], steps + tf.range(steps)[tf.newaxis]), axis=1)
    times = tf.cast(order + 1, tf.float32) * seconds_per_step
    padded = tf.where(tf.range(steps)[tf.newaxis] < num_events[:, tf.newaxis], times, -1.0)
    return padded, num_events


def _matched(detections, trigger_ends, tolerance):
    """The indices of the detections and of the trigger ends that pair up: each trigger end takes at most one
    detection within `tolerance` seconds, the nearest first."""
    pairs = sorted((abs(d - e), i, j) for i, d in enumerate(detections) for j, e in enumerate(trigger_ends))
    used_detections, used_ends = set(), set()
    for distance, i, j in pairs:
        if distance <= tolerance and i not in used_detections and j not in used_ends:
            used_detections.add(i)
            used_ends.add(j)
    return used_detections, used_ends


def match(detections, trigger_ends, tolerance):
    """Hits, false accepts and misses of one clip (see `_matched`)."""
    hits = len(_matched(detections, trigger_ends, tolerance)[1])
    return hits, len(detections) - hits, len(trigger_ends) - hits


def false_accepts(detections, trigger_ends, tolerance):
    """The times of one clip's detections that no trigger end takes (see `_matched`)."""
    used = _matched(detections, trigger_ends, tolerance)[0]
    return [d for i, d in enumerate(detections) if i not in used]


def false_accept_causes(detections, trigger_ends, words, tolerance, reach):
    """What each false accept followed, over clips: the word said last before it (by start) that ended at most
    `reach` seconds before it, or None where it followed no word (the background alone).

    Args:
        detections, trigger_ends: per clip, lists of seconds.
        words: per clip, `(start, end, word)` of each word said in it.

    Returns:
        A `collections.Counter` {word or None: false accepts}.
    """
    causes = collections.Counter()
    for found, ends, said in zip(detections, trigger_ends, words):
        for time in false_accepts(found, ends, tolerance):
            before = [(start, word) for start, end, word in said if start <= time <= end + reach]
            causes[max(before)[1] if before else None] += 1
    return causes


def event_scores(detections, trigger_ends, seconds, tolerance):
    """Event precision, recall, F1, false accepts per hour and false-reject rate over clips.

    Args:
        detections, trigger_ends: per clip, lists of seconds.
        seconds: total audio length, for the rate of false accepts.
    """
    hits = false_accepts = misses = 0
    for found, true in zip(detections, trigger_ends):
        h, fa, m = match(found, true, tolerance)
        hits, false_accepts, misses = hits + h, false_accepts + fa, misses + m
    precision = hits / max(hits + false_accepts, 1)
    recall = hits / max(hits + misses, 1)
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "false_accepts_per_hour": false_accepts / (seconds / 3600),
        "false_reject_rate": misses / max(hits + misses, 1),
        "triggers": hits + misses,
        "false_accepts": false_accepts,
    }


def frame_accuracy(probabilities, labels, threshold=0.5):
    """Share of steps whose thresholded probability equals the label (the course's accuracy)."""
    return float(np.mean((np.asarray(probabilities) >= threshold) == (np.asarray(labels) > 0.5)))
