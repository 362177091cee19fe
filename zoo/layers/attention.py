"""Additive (Bahdanau) attention with an explicit source mask."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class AdditiveAttention(keras.layers.Layer):
    """Additive attention (Bahdanau et al., 2015): `score(q, k) = v . tanh(W_q q + W_k k)`.

    The weights are a softmax of the scores over the unmasked source positions; padding gets weight
    exactly 0, and a source with no unmasked position gets all-zero weights (and a zero context)
    instead of NaNs. `project_keys` is split out so a decoder running step by step projects the
    encoder outputs once, not at every step.

    Args:
        hidden_dim: size of the hidden layer the query and keys are projected into.

    Call arguments:
        query: `(batch, query_time, query_dim)`, e.g. the decoder outputs.
        values: `(batch, source_time, value_dim)`, e.g. the encoder outputs.
        source_mask: optional boolean `(batch, source_time)`, True at real source positions; without
            it every position is attended to.
        projected_keys: optional `project_keys(values)`, to skip recomputing it.

    Returns:
        `(context, weights)`: `(batch, query_time, value_dim)` and `(batch, query_time, source_time)`.
    """

    def __init__(self, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        if hidden_dim < 1:
            raise ValueError(f"hidden_dim must be at least 1, got {hidden_dim}")
        self.hidden_dim = hidden_dim
        # The outputs carry no mask: a query's padding is the caller's to ignore (e.g. in the loss).
        self.supports_masking = True
        self.query_projection = keras.layers.Dense(
            hidden_dim, use_bias=False, name="query_projection", dtype=self.dtype_policy
        )
        self.key_projection = keras.layers.Dense(hidden_dim, name="key_projection", dtype=self.dtype_policy)
        self.score = keras.layers.Dense(1, use_bias=False, name="score", dtype=self.dtype_policy)

    def build(self, query_shape, values_shape=None):
        values_shape = values_shape or query_shape
        self.query_projection.build(query_shape)
        self.key_projection.build(values_shape)
        self.score.build(tuple(values_shape[:-1]) + (self.hidden_dim,))
        self.built = True

    def project_keys(self, values):
        return self.key_projection(values)

    def call(self, query, values, source_mask=None, projected_keys=None):
        if projected_keys is None:
            projected_keys = self.project_keys(values)
        queries = self.query_projection(query)
        # (batch, query_time, source_time, hidden_dim) -> (batch, query_time, source_time)
        hidden = ops.tanh(ops.expand_dims(queries, 2) + ops.expand_dims(projected_keys, 1))
        # The softmax runs in float32 under mixed precision too: float16 cannot hold its masking penalty.
        scores = ops.cast(ops.squeeze(self.score(hidden), -1), "float32")
        if source_mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            valid = ops.cast(ops.expand_dims(source_mask, 1), scores.dtype)
            # A large finite penalty rather than -inf keeps a fully masked row finite; the product
            # with `valid` then makes padding exactly 0.
            weights = ops.softmax(scores - 1e9 * (1.0 - valid), axis=-1) * valid
        weights = ops.cast(weights, values.dtype)
        context = ops.matmul(weights, values)
        return context, weights

    def compute_mask(self, *args, **kwargs):
        return None

    def compute_output_shape(self, query_shape, values_shape, source_mask_shape=None, projected_keys_shape=None):
        return (
            tuple(query_shape[:-1]) + (values_shape[-1],),
            tuple(query_shape[:-1]) + (values_shape[1],),
        )

    def get_config(self):
        config = super().get_config()
        config["hidden_dim"] = self.hidden_dim
        return config
