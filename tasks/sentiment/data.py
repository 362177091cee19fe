"""IMDB reviews (official 25,000 / 25,000 split) as length-bucketed tf.data pipelines.

The reviews are read by `data_pipelines.corpora.load_imdb` (local files or tensorflow-datasets). HTML line
breaks (`<br />`) are removed by the shared text standardizer, in the graph, so the exported model cleans
raw input the same way.
"""

import math
import re

import numpy as np
import tensorflow as tf

from data_pipelines import text
from data_pipelines.corpora import Reviews, load_imdb
from data_pipelines.splits import Splits

LABELS = ("negative", "positive")
# The validation split must not move when the training seed does.
SPLIT_SEED = 1234
# A sentence ends at . ! or ? followed by white space; HTML line breaks end one too.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>")
# Words a text must have to count as a one-line review: a fragment ("Wow.") or a run-on paragraph is not one.
SENTENCE_WORDS = (4, 40)


def _subset(split, indices):
    return Reviews([split.texts[i] for i in indices], split.labels[indices])


def make_splits(config):
    """Train, validation (carved from train with a fixed seed) and test, cut to `max_examples` if set."""
    data = load_imdb(config.data.data_dir)
    train, test = data["train"], data["test"]
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(train.texts))
    if not 0 < config.validation_size < len(order):
        raise ValueError(f"validation_size must be in (0, {len(order)}), got {config.validation_size}")
    validation_indices, train_indices = order[: config.validation_size], order[config.validation_size :]
    test_indices = np.arange(len(test.texts))
    if config.data.max_examples:
        # The files are sorted by label, so a smoke run takes a random subset rather than the first rows.
        train_indices = train_indices[: config.data.max_examples]
        test_indices = rng.permutation(test_indices)[: config.data.max_examples]
    return Splits(_subset(train, train_indices), _subset(train, validation_indices), _subset(test, test_indices))


def sentences(reviews, pick="random", seed=SPLIT_SEED):
    """One sentence of each review, labelled with the review's label: short texts like the one-line reviews
    users paste, built from held-out reviews. Reviews without a sentence of `SENTENCE_WORDS` words are left out.

    Args:
        pick: `"random"`, a sentence drawn with `seed`, or `"last"`, the closing one (where verdicts tend to be).
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for review, label in zip(reviews.texts, reviews.labels):
        candidates = [
            sentence.strip()
            for sentence in SENTENCE_END.split(review)
            if SENTENCE_WORDS[0] <= len(sentence.split()) <= SENTENCE_WORDS[1]
        ]
        if candidates:
            texts.append(candidates[-1] if pick == "last" else candidates[rng.integers(len(candidates))])
            labels.append(label)
    return Reviews(texts, np.array(labels, np.int32))


def vectorize(reviews, vectorizer, config):
    """Token ids of every review, truncated to `max_length`, as a ragged tensor."""
    return text.truncate(vectorizer(tf.constant(reviews.texts)), config.max_length, config.truncation)


def span_batches(token_ids, labels, config):
    """Each epoch, `span_share` of the training reviews cut to a random contiguous span of `span_min_tokens` to
    `span_max_tokens` ids (fewer
    if the review is shorter), labelled as their review, in padded batches: so the model also learns to judge a
    line or two rather than only whole reviews."""
    count = round(config.span_share * len(labels))
    low, high = config.span_min_tokens, config.span_max_tokens
    if high < low:
        raise ValueError(f"span_max_tokens must be at least span_min_tokens ({low}), got {high}")
    reviews = (
        text.ragged_rows_dataset(token_ids, labels).shuffle(len(labels), seed=config.seed + 1).repeat().take(count)
    )
    randoms = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)

    def cut(review, random):
        (ids, label), random = review, tf.math.abs(random)
        length = tf.shape(ids, out_type=tf.int64)[0]
        span = tf.minimum(low + random[0] % (high - low + 1), length)
        start = random[1] % (length - span + 1)
        return ids[start : start + span], label

    spans = tf.data.Dataset.zip(reviews, randoms).map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    batches = spans.padded_batch(config.data.batch_size, padding_values=(tf.constant(text.PAD_ID, tf.int64), None))
    return batches.apply(tf.data.experimental.assert_cardinality(math.ceil(count / config.data.batch_size)))


def make_datasets(splits, vectorizer, config, names=("train", "validation")):
    """`{name: batches}` of the splits `names`: length-bucketed `(ids (batch, time), label (batch,))`,
    the bucket boundaries drawn from the train split's lengths; train is shuffled, and mixed with batches of
    review spans when `span_share > 0` (`span_batches`)."""
    token_ids = {name: vectorize(getattr(splits, name), vectorizer, config) for name in {"train", *names}}
    boundaries = text.length_bucket_boundaries(token_ids["train"].row_lengths().numpy(), config.data.num_buckets)
    datasets = {}
    for name in names:
        dataset = text.ragged_rows_dataset(token_ids[name], getattr(splits, name).labels)
        if name == "train":
            dataset = dataset.shuffle(len(splits.train.labels), seed=config.seed, reshuffle_each_iteration=True)
        lengths = token_ids[name].row_lengths().numpy()
        batches = text.bucketed_batches(dataset, config.data.batch_size, boundaries, lengths)
        if name == "train" and config.span_share:
            batches = batches.concatenate(span_batches(token_ids[name], splits.train.labels, config))
            batches = batches.shuffle(int(batches.cardinality()), seed=config.seed)
        datasets[name] = batches.prefetch(tf.data.AUTOTUNE)
    return datasets
