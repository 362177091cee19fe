"""Hashed bigram ids for token-id sequences."""

import keras
from keras import ops

# Knuth's multiplicative hashing constant: spreads consecutive bigram keys over the buckets.
_HASH_MULTIPLIER = 2654435761


@keras.saving.register_keras_serializable(package="zoo")
class BigramHashing(keras.layers.Layer):
    """Maps each token id to the hashed id of the bigram (previous token, this token).

    An embedding of these ids, added to the word embedding at each step, gives a recurrent layer
    local word-order features ("not good", "no plot") without growing the vocabulary: the idea of
    fastText's hashed n-grams, kept aligned with the token sequence.

    Args:
        vocab_size: size of the token vocabulary the ids come from.
        num_buckets: bigram ids lie in `[1, num_buckets)`; 0 is kept for padding.

    Call arguments:
        inputs: int `(batch, time)` token ids, 0 at padding. The first token pairs with padding.

    Returns:
        int `(batch, time)` bigram ids, 0 wherever the token is padding.
    """

    def __init__(self, vocab_size, num_buckets, **kwargs):
        super().__init__(trainable=False, **kwargs)
        if num_buckets < 2:
            raise ValueError(f"num_buckets must be at least 2, got {num_buckets}")
        self.vocab_size = vocab_size
        self.num_buckets = num_buckets

    def call(self, inputs):
        token_ids = ops.cast(inputs, "int64")
        previous = ops.pad(token_ids[:, :-1], [[0, 0], [1, 0]])
        keys = previous * self.vocab_size + token_ids
        bigram_ids = 1 + ops.mod(keys * _HASH_MULTIPLIER, self.num_buckets - 1)
        return ops.where(token_ids > 0, bigram_ids, ops.zeros_like(bigram_ids))

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="int64")

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        config.update({"vocab_size": self.vocab_size, "num_buckets": self.num_buckets})
        return config
