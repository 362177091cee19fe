"""Text building blocks: standardization, vectorization and length-bucketed batching.

Standardization runs in the TensorFlow graph, so training and the exported SavedModel apply exactly the
same function to raw text.
"""

import keras
import numpy as np
import tensorflow as tf

# One name per idea in every task: id 0 pads every id sequence (tokens, characters, events), id 1 is
# the unknown token of every lookup, and a padded step's label is -1, which losses and metrics skip.
PAD_ID = 0
UNKNOWN_ID = 1
PAD_LABEL = -1
TRUNCATIONS = ("head", "tail")


def standardize_text(texts):
    """Lower-cases (Unicode-aware), turns HTML line breaks into spaces and splits off punctuation.

    Sentence punctuation (`. , ! ? ; : ( ) " /`) becomes separate tokens because it carries signal
    ("!!!", "?"); apostrophes and hyphens stay inside words ("don't", "well-made"); other ASCII symbols
    are dropped. Non-ASCII letters are kept, so unseen scripts map to the out-of-vocabulary token.
    Unicode separators and control characters (U+0085, U+2028, no-break space) become spaces: a
    token made of them would break the one-token-per-line vocabulary file of a saved model.
    """
    texts = tf.strings.regex_replace(texts, r"[\p{Z}\p{Cc}]", " ")
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    texts = tf.strings.regex_replace(texts, r"([.,!?;:()\"/])", r" \1 ")
    return tf.strings.regex_replace(texts, r"[#$%&*+<=>@\[\\\]^_`{|}~]", " ")


def build_vectorizer(texts, max_tokens, batch_size=1024):
    """A `TextVectorization` adapted on `texts` (strings); id 0 is padding and id 1 is unknown."""
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, standardize=standardize_text, ragged=True)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(batch_size))
    return vectorizer


def truncate(token_ids, max_length, truncation="head"):
    """Keeps the first (`"head"`) or last (`"tail"`) `max_length` ids of each ragged row."""
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    if truncation == "head":
        return token_ids[:, :max_length]
    skipped = tf.maximum(token_ids.row_lengths() - max_length, 0)
    kept_positions = tf.ragged.range(token_ids.row_starts() + skipped, token_ids.row_limits())
    return tf.gather(token_ids.values, kept_positions)


def to_padded(ragged, padding):
    """Right-pads a ragged `(batch, None)` tensor with `padding` to a dense one with `time >= 1`.

    The extra column for an all-empty batch lets recurrent layers run: such rows are fully masked.
    """
    dense = ragged.to_tensor(default_value=padding)
    missing = tf.maximum(1 - tf.shape(dense)[1], 0)
    return tf.pad(dense, [[0, 0], [0, missing]], constant_values=padding)


def to_padded_ids(token_ids):
    """Right-pads ragged ids with `PAD_ID` (see `to_padded`)."""
    return to_padded(token_ids, PAD_ID)


def length_bucket_boundaries(lengths, num_buckets):
    """Boundaries that split `lengths` into about `num_buckets` equally populated buckets."""
    quantiles = np.quantile(np.asarray(lengths), np.linspace(0, 1, num_buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in quantiles})


def ragged_rows_dataset(token_ids, labels):
    """A dataset of `(ids (time,), label)` from a ragged `(batch, None)` tensor of ids (or tokens).

    `labels` holds one label per row, or is ragged like `token_ids` for one label per token.
    """
    values, starts, limits = token_ids.values, token_ids.row_starts(), token_ids.row_limits()
    if isinstance(labels, tf.RaggedTensor):
        label_values = labels.values
        return tf.data.Dataset.from_tensor_slices((starts, limits)).map(
            lambda start, limit: (values[start:limit], label_values[start:limit]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return tf.data.Dataset.from_tensor_slices((starts, limits, labels)).map(
        lambda start, limit, label: (values[start:limit], label), num_parallel_calls=tf.data.AUTOTUNE
    )


def bucketed_batches(dataset, batch_size, boundaries, lengths, padding_values=(PAD_ID, None)):
    """Batches `(ids, label)` examples of similar length together, right-padding them.

    The length is that of the first component; `padding_values` pads each component (`None`: 0 or
    the empty string), by default `PAD_ID` for the ids.

    Right padding keeps the mask "right-padded", the case cuDNN's fused kernels accept. Each bucket
    yields ceil(examples / batch_size) batches whatever the order, so the dataset's length is declared
    from `lengths` (the examples' lengths), which gives Keras a step count for its progress bar.
    """
    bucket_sizes = np.bincount(np.digitize(lengths, boundaries), minlength=len(boundaries) + 1)
    num_batches = int(np.sum(-(-bucket_sizes // batch_size)))
    batches = dataset.bucket_by_sequence_length(
        lambda ids, *_: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=tuple(
            None if value is None else tf.constant(value, spec.dtype)
            for value, spec in zip(padding_values, dataset.element_spec)
        ),
    )
    return batches.apply(tf.data.experimental.assert_cardinality(num_batches))


def map_in_length_order(function, items, batch_size, length=len):
    """Runs `function(list of items) -> {name: tensor (batch, ...)}` over `items` in batches of items of
    similar `length`, so batches carry little padding, and returns `{name: array}` in the order of `items`."""
    order = np.argsort([length(item) for item in items], kind="stable")
    parts = {}
    for start in range(0, len(order), batch_size):
        outputs = function([items[i] for i in order[start : start + batch_size]])
        for name, value in outputs.items():
            parts.setdefault(name, []).append(np.asarray(value))
    restored = {}
    for name, values in parts.items():
        restored[name] = np.empty_like(np.concatenate(values))
        restored[name][order] = np.concatenate(values)
    return restored


def padding_fraction(dataset):
    """The share of positions in a batched `(ids, label)` dataset that are padding."""
    padded = total = 0
    for ids, _ in dataset:
        padded += int(tf.reduce_sum(tf.cast(ids == PAD_ID, tf.int64)))
        total += int(tf.size(ids))
    return padded / max(total, 1)
