"""How generated melodies compare with real ones, and how much they copy their training data.

The comparison follows Yang & Lerch (2020, "On the evaluation of generative models in music", the `mgeval`
measures): each melody gets a few features; within the real set, and between the generated and the real
set, the distances between every two melodies' features form two distributions (smoothed with a Gaussian
kernel); the overlap area of the two says how much generated melodies differ from real ones the way real
ones differ from each other (1: alike, 0: nothing shared).
"""

import numpy as np

from data_pipelines import midi

INTERVAL_LIMIT = 12  # intervals beyond an octave share the outermost bins
LENGTH_LIMIT = 16  # note lengths in steps; longer notes share the last bin


def melody_features(events):
    """`{feature: vector}` of one melody's events; an empty melody gives zero vectors."""
    melody = midi.events_to_melody(events)
    pitches = np.array([note.pitch for note in melody], int)
    starts = np.array([note.start for note in melody], int)
    lengths = np.array([note.end - note.start for note in melody], int)
    intervals = np.clip(np.diff(pitches), -INTERVAL_LIMIT, INTERVAL_LIMIT) + INTERVAL_LIMIT

    def histogram(values, bins):
        counts = np.bincount(values, minlength=bins)[:bins].astype(float)
        return counts / max(counts.sum(), 1.0)

    return {
        "pitch_class_histogram": histogram(pitches % 12, 12),
        "pitch_range": np.array([np.ptp(pitches) if len(pitches) else 0.0]),
        "interval_histogram": histogram(intervals, 2 * INTERVAL_LIMIT + 1),
        "note_length_histogram": histogram(np.minimum(lengths, LENGTH_LIMIT) - 1, LENGTH_LIMIT),
        "inter_onset_interval": np.array([np.diff(starts).mean() if len(starts) > 1 else 0.0]),
    }


def _kernel_density(samples, grid):
    samples = np.asarray(samples, float)
    # Scott's rule, but never narrower than a few grid steps: a set of equal distances (a spike) must
    # still be resolved by the grid the areas are summed on.
    bandwidth = max(samples.std() * len(samples) ** -0.2, 5 * (grid[1] - grid[0]))
    density = np.exp(-0.5 * ((grid[:, None] - samples[None]) / bandwidth) ** 2).sum(axis=1)
    return density / (len(samples) * bandwidth * np.sqrt(2 * np.pi))


def overlap_area(first, second, points=1000):
    """The area under the smaller of the two kernel density estimates of two samples of distances."""
    low, high = min(np.min(first), np.min(second)), max(np.max(first), np.max(second))
    margin = 0.1 * (high - low) + 1e-3
    grid = np.linspace(low - margin, high + margin, points)
    smaller = np.minimum(_kernel_density(first, grid), _kernel_density(second, grid))
    return float(np.sum(smaller) * (grid[1] - grid[0]))


def overlap_areas(generated, real):
    """`{feature: overlap area}` between the generated-to-real and the real-to-real feature distances.

    Args:
        generated, real: lists of event arrays (at least two real ones).
    """
    generated = [melody_features(events) for events in generated]
    real = [melody_features(events) for events in real]
    areas = {}
    for name in real[0]:
        real_vectors = np.stack([features[name] for features in real])
        generated_vectors = np.stack([features[name] for features in generated])
        within = np.linalg.norm(real_vectors[:, None] - real_vectors[None], axis=-1)
        within = within[np.triu_indices(len(real_vectors), k=1)]
        between = np.linalg.norm(generated_vectors[:, None] - real_vectors[None], axis=-1).ravel()
        areas[name] = overlap_area(between, within)
    return areas


def longest_copied_runs(generated, training):
    """For each generated melody, the most consecutive events it shares with any one training melody.

    Runs are compared by 64-bit polynomial hashes of every window, so the search over 500,000 training
    events takes seconds; a collision (probability about 2**-64 per pair) could only lengthen a run.
    """
    # A separator between training melodies, so that no window spans two of them.
    separator = [np.array([SEPARATOR])]
    training_hashes = _WindowHashes(np.concatenate([part for m in training for part in (m, separator[0])]))
    runs = []
    for events in generated:
        hashes = _WindowHashes(np.asarray(events))
        low, high = 0, len(events)  # the answer lies in [low, high]
        while low < high:
            length = (low + high + 1) // 2
            if training_hashes.contains_any(hashes.windows(length), length):
                low = length
            else:
                high = length - 1
        runs.append(low)
    return runs


SEPARATOR = -1000  # never an event
_BASE = np.uint64(1_000_003)


class _WindowHashes:
    """Hashes of every window of a sequence, for any window length, from one pass of prefix hashes."""

    def __init__(self, sequence):
        prefix, running = [0], 0
        for value in (np.asarray(sequence, np.int64) + 2000).tolist():
            running = (running * int(_BASE) + value) & 0xFFFF_FFFF_FFFF_FFFF
            prefix.append(running)
        self.prefix, self.cache = np.array(prefix, np.uint64), {}

    def windows(self, length):
        with np.errstate(over="ignore"):  # the arithmetic is meant to wrap around, modulo 2**64
            return self.prefix[length:] - self.prefix[: len(self.prefix) - length] * _BASE ** np.uint64(length)

    def contains_any(self, hashes, length):
        """Whether any of `hashes` is the hash of one of this sequence's windows of `length`."""
        if length not in self.cache:
            self.cache[length] = np.sort(self.windows(length))
        known = self.cache[length]
        if not len(known):
            return False
        found = known[np.minimum(np.searchsorted(known, hashes), len(known) - 1)]
        return bool(np.any(found == hashes))
