"""Word vectors learned from unlabeled text: skip-gram with negative sampling (Mikolov et al., 2013), in TensorFlow.

`train_word_vectors` learns one vector per word seen at least `min_count` times: each word predicts the words
around it (up to `window` on either side, the reach drawn anew for every centre word, so near words count
more), told apart from `negatives` words drawn from the unigram distribution raised to 3/4. Frequent words
are dropped at random beforehand (`subsample`), which speeds training and gives rare words more weight.
`save` and `load` keep the vectors in one `.npz` file that a task initializes its embeddings from.
"""

import dataclasses
import json
import time
from typing import NamedTuple

import numpy as np
import tensorflow as tf

NOISE_POWER = 0.75


@dataclasses.dataclass
class SkipGramConfig:
    """Attributes:
    dim: vector size.
    window: largest distance between a word and a context word it predicts.
    min_count: occurrences a word needs to get a vector.
    negatives: noise words drawn for every (word, context) pair.
    subsample: a word of corpus frequency f is kept with probability sqrt(subsample / f) + subsample / f.
    epochs: passes over the corpus.
    batch_size: pairs per update.
    learning_rate: the SGD step at the start; it falls linearly to 1/10,000 of it by the end.
    seed: seed of the subsampling, windows, order, noise words and initial vectors.
    """

    dim: int = 100
    window: int = 5
    min_count: int = 5
    negatives: int = 5
    subsample: float = 1e-4
    epochs: int = 5
    batch_size: int = 1024
    learning_rate: float = 0.025
    seed: int = 0

    def __post_init__(self):
        for name in ("dim", "window", "min_count", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.negatives < 0 or self.subsample < 0 or self.learning_rate <= 0:
            raise ValueError("negatives and subsample must be >= 0 and learning_rate > 0")


class WordVectors(NamedTuple):
    words: list  # of str, most frequent first
    counts: np.ndarray  # int64 (words,): occurrences in the corpus
    vectors: np.ndarray  # float32 (words, dim)


def count_words(sentences, min_count):
    """The words of `sentences` seen at least `min_count` times and every token's index among them.

    Args:
        sentences: ragged string `(sentences, None)` of words.

    Returns:
        `(words, counts, token_ids)`: words most frequent first (ties in byte order), their counts, and int32
        `(tokens,)` with the index of each token of `sentences.flat_values` in `words`, or -1 when it has none.
    """
    unique, token_index, counts = tf.unique_with_counts(sentences.flat_values)
    unique, counts = unique.numpy(), counts.numpy().astype(np.int64)
    order = np.lexsort((unique, -counts))
    order = order[counts[order] >= min_count]
    rank = np.full(len(unique), -1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return [word.decode("utf-8") for word in unique[order]], counts[order], rank[token_index.numpy()]


def skip_gram_pairs(token_ids, sentence_ids, counts, config, rng):
    """(centre, context) word index pairs of one pass over the corpus, in random order.

    Tokens without a vector and subsampled ones are dropped first, so the words around them move closer, as in
    word2vec; pairs never cross a sentence boundary.
    """
    frequency = counts / counts.sum()
    keep_probability = np.ones_like(frequency)
    if config.subsample:
        ratio = config.subsample / frequency
        keep_probability = np.minimum(1.0, np.sqrt(ratio) + ratio)
    known = token_ids >= 0
    kept = known.copy()
    kept[known] = rng.random(int(known.sum())) < keep_probability[token_ids[known]]
    ids, sentences = token_ids[kept], sentence_ids[kept]
    reach = rng.integers(1, config.window + 1, size=len(ids))
    centres, contexts = [], []
    for distance in range(1, config.window + 1):
        same_sentence = sentences[:-distance] == sentences[distance:]
        left, right = np.arange(len(ids) - distance), np.arange(distance, len(ids))
        forward = same_sentence & (reach[:-distance] >= distance)
        backward = same_sentence & (reach[distance:] >= distance)
        centres += [ids[left[forward]], ids[right[backward]]]
        contexts += [ids[right[forward]], ids[left[backward]]]
    centres, contexts = np.concatenate(centres), np.concatenate(contexts)
    order = rng.permutation(len(centres))
    return centres[order], contexts[order]


class _SkipGram(tf.Module):
    """The two embedding tables and one epoch of sparse SGD updates on them."""

    def __init__(self, counts, config):
        super().__init__()
        self.config = config
        initial = np.random.default_rng(config.seed).uniform(-0.5, 0.5, (len(counts), config.dim)) / config.dim
        self.word_vectors = tf.Variable(initial.astype(np.float32))
        self.context_vectors = tf.Variable(tf.zeros([len(counts), config.dim]))
        noise = counts.astype(np.float64) ** NOISE_POWER
        self.noise_logits = tf.constant(np.log(noise / noise.sum())[None, :], tf.float32)

    # One trace for every pass: each draws a different number of pairs.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)] * 2 + [tf.TensorSpec([], tf.int32)] * 2)
    def epoch(self, centres, contexts, first_step, total_steps):
        """SGD over the pairs in batches; returns the mean loss per pair."""
        batch_size, negatives = self.config.batch_size, self.config.negatives
        num_steps = (tf.size(centres) + batch_size - 1) // batch_size
        loss_sum = tf.constant(0.0)
        for step in tf.range(num_steps):
            progress = tf.cast(first_step + step, tf.float32) / tf.cast(total_steps, tf.float32)
            rate = self.config.learning_rate * tf.maximum(1.0 - progress, 1e-4)
            centre = centres[step * batch_size : (step + 1) * batch_size]
            context = contexts[step * batch_size : (step + 1) * batch_size]
            noise = tf.random.stateless_categorical(
                self.noise_logits, tf.size(centre) * negatives, seed=[self.config.seed, first_step + step]
            )
            noise = tf.reshape(tf.cast(noise, tf.int32), [-1, negatives])
            loss_sum += self._update(centre, context, noise, rate)
        return loss_sum / tf.cast(tf.size(centres), tf.float32)

    def _update(self, centre, context, noise, rate):
        # The gradients of -log sigmoid(u.v) - sum log sigmoid(-u.n) by hand: three gathers and two scatters
        # instead of a tape over the full tables.
        word = tf.gather(self.word_vectors, centre)
        target = tf.gather(self.context_vectors, context)
        noise_vectors = tf.gather(self.context_vectors, noise)
        positive = tf.reduce_sum(word * target, axis=-1)
        negative = tf.einsum("bd,bkd->bk", word, noise_vectors)
        positive_error = tf.sigmoid(positive) - 1.0
        negative_error = tf.sigmoid(negative)
        word_gradient = positive_error[:, None] * target + tf.einsum("bk,bkd->bd", negative_error, noise_vectors)
        context_gradient = tf.concat(
            [
                positive_error[:, None] * word,
                tf.reshape(negative_error[:, :, None] * word[:, None, :], [-1, word.shape[-1]]),
            ],
            axis=0,
        )
        context_ids = tf.concat([context, tf.reshape(noise, [-1])], axis=0)
        self.word_vectors.scatter_sub(tf.IndexedSlices(rate * word_gradient, centre))
        self.context_vectors.scatter_sub(tf.IndexedSlices(rate * context_gradient, context_ids))
        loss = tf.nn.softplus(-positive) + tf.reduce_sum(tf.nn.softplus(negative), axis=-1)
        return tf.reduce_sum(loss)


def train_word_vectors(sentences, config, log=print):
    """Skip-gram vectors of every word seen `config.min_count` times in `sentences`.

    Args:
        sentences: ragged string `(sentences, None)` of words, normalized as the user of the vectors looks
            them up.
        config: `SkipGramConfig`.
        log: called with one line per epoch.

    Returns:
        `WordVectors`, most frequent word first.
    """
    words, counts, token_ids = count_words(sentences, config.min_count)
    if not words:
        raise ValueError(f"no word occurs {config.min_count} times in the {sentences.shape[0]} sentences")
    sentence_ids = sentences.value_rowids().numpy()
    rng = np.random.default_rng(config.seed)
    model = _SkipGram(counts, config)
    step = 0
    for epoch in range(config.epochs):
        start = time.perf_counter()
        centres, contexts = skip_gram_pairs(token_ids, sentence_ids, counts, config, rng)
        if epoch == 0:
            # The later passes draw about as many pairs, so the first pass sizes the learning-rate schedule.
            total_steps = config.epochs * -(-len(centres) // config.batch_size)
        loss = model.epoch(tf.constant(centres), tf.constant(contexts), tf.constant(step), tf.constant(total_steps))
        step += -(-len(centres) // config.batch_size)
        log(f"epoch {epoch + 1}: {len(centres):,} pairs, loss {float(loss):.4f}, {time.perf_counter() - start:.0f} s")
    return WordVectors(words, counts, model.word_vectors.numpy())


def save(path, word_vectors, **metadata):
    """Writes `word_vectors` and `metadata` (JSON-serializable: how they were made) to the `.npz` file `path`."""
    np.savez_compressed(
        path,
        words=np.array(word_vectors.words, dtype=object).astype(str),
        counts=word_vectors.counts,
        vectors=word_vectors.vectors,
        metadata=json.dumps(metadata),
    )


def load(path):
    """`(WordVectors, metadata)` from a file written by `save`."""
    with np.load(path) as stored:
        vectors = WordVectors(stored["words"].tolist(), stored["counts"], stored["vectors"])
        return vectors, json.loads(str(stored["metadata"]))


def nearest(word_vectors, word, count=10):
    """The `count` words with the highest cosine similarity to `word`, most similar first, with the similarity."""
    index = word_vectors.words.index(word)
    unit = word_vectors.vectors / np.maximum(np.linalg.norm(word_vectors.vectors, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    best = np.argsort(-similarity)[:count]
    return [(word_vectors.words[i], float(similarity[i])) for i in best]
