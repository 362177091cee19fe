"""Stacking consecutive steps into one, so a recurrent layer runs fewer, wider steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class TimeReduction(keras.layers.Layer):
    """Concatenates every `factor` consecutive steps into one step.

    A recurrent layer runs its steps one after another, so its time grows with the number of steps, not
    with their width. Reading `factor` tokens per step divides that sequential work by `factor` while
    the layer still sees every token (the pyramidal encoder of Listen, Attend and Spell; frame stacking
    in speech recognition).

    Masked steps are zeroed before stacking. A group is masked only when all of its steps are, so a
    right-padded input gives a right-padded output and the fused recurrent kernels still apply. The time
    axis is padded with masked zeros to a multiple of `factor`.

    Args:
        factor: steps per output step, at least 1.

    Call arguments:
        inputs: `(batch, time, features)`.
        mask: optional boolean `(batch, time)`, True at real steps.

    Returns:
        `(batch, ceil(time / factor), factor * features)`, with mask `(batch, ceil(time / factor))`.
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        if factor < 1:
            raise ValueError(f"factor must be at least 1, got {factor}")
        self.factor = factor
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        padding = -ops.shape(inputs)[1] % self.factor
        padded = ops.pad(inputs, [[0, 0], [0, padding], [0, 0]])
        return ops.reshape(padded, (ops.shape(padded)[0], -1, self.factor * inputs.shape[-1]))

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        # A max pool over groups, not the reshape `call` uses: building a functional model calls this on
        # symbolic masks of unknown length. Padding with factor - 1 steps makes "valid" windows cover the
        # last group.
        steps = ops.pad(ops.cast(mask, "float32"), [[0, 0], [0, self.factor - 1]])
        groups = ops.max_pool(ops.expand_dims(steps, -1), self.factor, strides=self.factor, padding="valid")
        return groups[..., 0] > 0

    def compute_output_shape(self, input_shape):
        batch, time, features = input_shape
        reduced = None if time is None else -(-time // self.factor)
        return (batch, reduced, None if features is None else features * self.factor)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config
