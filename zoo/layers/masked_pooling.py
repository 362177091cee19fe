"""Max and mean pooling over time that honour the mask."""

import keras
from keras import ops

_MODES = ("max", "mean")


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGlobalPooling(keras.layers.Layer):
    """Pools `(batch, time, features)` over time using only unmasked steps.

    Keras' `GlobalMaxPooling1D` ignores the mask, so padding (zeros after a recurrent layer) takes part
    in the max. Here masked steps never do. A sequence with no unmasked step (an empty text) pools to
    zeros instead of NaN or -inf, so a classifier on top returns its bias-only prediction.

    Args:
        modes: pooling operations to apply, concatenated in this order: any of `"max"`, `"mean"`.

    Call arguments:
        inputs: `(batch, time, features)`.
        mask: optional boolean `(batch, time)`, True at real steps.

    Returns:
        `(batch, features * len(modes))`.
    """

    def __init__(self, modes=("max", "mean"), **kwargs):
        super().__init__(**kwargs)
        modes = tuple(modes)
        if not modes or any(mode not in _MODES for mode in modes):
            raise ValueError(f"modes must be a non-empty subset of {_MODES}, got {modes!r}")
        self.modes = modes
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        step_mask = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        steps = ops.sum(step_mask, axis=1)
        pooled = []
        for mode in self.modes:
            if mode == "max":
                maximum = ops.max(ops.where(step_mask > 0, inputs, float("-inf")), axis=1, initial=float("-inf"))
                pooled.append(ops.where(steps > 0, maximum, ops.zeros_like(maximum)))
            else:
                pooled.append(ops.sum(inputs * step_mask, axis=1) / ops.maximum(steps, 1.0))
        return ops.concatenate(pooled, axis=-1) if len(pooled) > 1 else pooled[0]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2] * len(self.modes))

    def get_config(self):
        config = super().get_config()
        config["modes"] = list(self.modes)
        return config
