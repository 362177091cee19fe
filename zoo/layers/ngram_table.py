"""A fixed n-gram model's next-token distributions as a table a graph can read, to mix with a neural model."""

import keras
import numpy as np
import tensorflow as tf

# Context keys are int64 numbers written in base vocab_size + 1; they must not overflow.
MAX_KEY = 2**62


@keras.saving.register_keras_serializable(package="zoo")
class NGramTable(keras.layers.Layer):
    """P(next id | the last `order - 1` ids) of a fixed n-gram model, at every position of id sequences.

    The table holds one distribution for each context the n-gram model has counts for. Any other context
    reads the distribution of its longest suffix in the table: that is what an interpolated Kneser-Ney
    model gives a context it never saw, since it skips exactly the orders with no counts (see
    `zoo.ngram.KneserNey.histories`). A context is found by an exact integer key, `sum((id + 1) *
    (vocab_size + 1) ** age)` over its ids (age 0: the latest), searched in the sorted keys, so a lookup
    is one `tf.searchsorted` per order and the layer needs no string tables.

    Args:
        order: the n of the n-grams, at least 2: a context is the last `order - 1` ids.
        vocab_size: ids are `0 .. vocab_size - 1`.
        num_contexts: rows of the table.
        start_id: the id that pads a context on the left, before the first id of a sequence.

    Call arguments:
        ids: int `(batch, time)`.

    Returns:
        float32 `(batch, time, vocab_size)`: the distribution of the id after `ids[:, :t + 1]`.
    """

    def __init__(self, order, vocab_size, num_contexts, start_id, **kwargs):
        super().__init__(**kwargs)
        if order < 2:
            raise ValueError(f"order must be at least 2, got {order}")
        if (vocab_size + 1) ** order > MAX_KEY:
            raise ValueError(f"context keys of order {order} over {vocab_size} ids would overflow int64")
        if num_contexts < 1 or not 0 <= start_id < vocab_size:
            raise ValueError(f"need num_contexts >= 1 and 0 <= start_id < vocab_size, got {num_contexts}, {start_id}")
        self.order, self.vocab_size, self.num_contexts, self.start_id = order, vocab_size, num_contexts, start_id

    def build(self, input_shape=None):
        self.keys = self.add_weight(
            shape=(self.num_contexts,), dtype="int64", initializer="zeros", trainable=False, name="keys"
        )
        self.probabilities = self.add_weight(
            shape=(self.num_contexts, self.vocab_size),
            dtype="float32",
            initializer="zeros",
            trainable=False,
            name="probabilities",
        )
        self.built = True

    @classmethod
    def from_model(cls, model, token_ids, unknown_id, vocab_size, start_id, max_contexts=0, **kwargs):
        """The table of a fitted `zoo.ngram.KneserNey` over id space `0 .. vocab_size - 1`.

        Args:
            token_ids: `{token: id}` for every token of the n-gram model's vocabulary (its end included).
            unknown_id: the id that gets the n-gram model's probability of a token it never saw.
            start_id: the id of `model.end`, which pads contexts on the left.
            max_contexts: if positive, the table keeps only this many contexts, the most frequent in the
                n-gram's training text (a shorter one first on a tie), each with its exact distribution; any
                other context reads its longest suffix among them, as in the full table. A suffix is at
                least as frequent as its context, so every kept context's suffixes are kept too. This bounds
                the size of an n-gram of a large text (a row is `vocab_size` floats).
        """
        histories = model.histories()
        if 0 < max_contexts < len(histories):
            counts = model.history_counts()
            ranked = sorted(histories, key=lambda history: (-counts[history], len(history), repr(history)))
            histories = sorted(ranked[:max_contexts], key=lambda history: (len(history), repr(history)))
        table = cls(model.order, vocab_size, len(histories), start_id, **kwargs)
        table.build()
        unseen = object()  # a token no n-gram was counted with
        keys = [context_key([token_ids[token] for token in history], vocab_size) for history in histories]
        probabilities = np.zeros((len(histories), vocab_size), np.float64)
        for row, history in enumerate(histories):
            # `probabilities` reads the last `order - 1` tokens; tokens it never saw stand for "no context here".
            context = (unseen,) * (model.order - 1 - len(history)) + history
            tokens = [*token_ids, unseen]
            probabilities[row, [*token_ids.values(), unknown_id]] = model.probabilities(tokens, context)
        # An n-gram of other text may never have seen some of `token_ids`; each then has the unknown token's
        # probability, and the rows are scaled to sum to 1 again.
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        order = np.argsort(keys)
        table.keys.assign(np.asarray(keys, np.int64)[order])
        table.probabilities.assign(probabilities[order].astype(np.float32))
        return table

    def call(self, ids):
        ids = tf.cast(ids, tf.int64)
        time = tf.shape(ids)[1]
        padded = tf.pad(ids, [[0, 0], [self.order - 1, 0]], constant_values=self.start_id)
        key = tf.zeros_like(ids)
        rows = tf.zeros_like(ids, dtype=tf.int32)  # key 0, the empty context, sorts first
        for age in range(self.order - 1):
            latest = padded[:, self.order - 1 - age : self.order - 1 - age + time]
            key += (latest + 1) * (self.vocab_size + 1) ** age
            position = tf.reshape(tf.searchsorted(self.keys, tf.reshape(key, [-1]), out_type=tf.int32), tf.shape(key))
            position = tf.minimum(position, self.num_contexts - 1)
            rows = tf.where(tf.gather(self.keys, position) == key, position, rows)
        return tf.gather(self.probabilities, rows)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.vocab_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "order": self.order,
                "vocab_size": self.vocab_size,
                "num_contexts": self.num_contexts,
                "start_id": self.start_id,
            }
        )
        return config


def context_key(ids, vocab_size):
    """The table key of a context (ids, the latest last)."""
    return sum((int(token) + 1) * (vocab_size + 1) ** age for age, token in enumerate(reversed(ids)))
