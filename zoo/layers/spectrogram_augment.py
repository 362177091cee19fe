"""Training-time changes to spectrogram frames that a different speaker or microphone would make."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class SpectrogramAugment(keras.layers.Layer):
    """Warps and masks the frequency axis of `(batch, frames, bins)` log-mel frames while training.

    A detector trained on a few voices learns those voices; a different vocal tract moves the formants, a
    different microphone or vocoder removes bands. Each example's bins are read at positions stretched by a
    factor drawn from `[1 - mel_warp, 1 + mel_warp]` (vocal tract length perturbation, on the mel scale,
    linear between bins), then `frequency_masks` bands of up to `frequency_mask_bins` bins each are set to the
    example's mean (SpecAugment's frequency masking). Every frame of an example gets the same change, so a
    frame still depends on its own samples only and the labels stay where they were. At inference it is the
    identity.

    Args:
        mel_warp: largest relative stretch of the bin axis, in [0, 1).
        frequency_masks: frequency bands masked per example.
        frequency_mask_bins: widest band, in bins.
        seed: for the draws.

    Call arguments:
        frames: float `(batch, frames, bins)`.
        training: the change is made only when True.

    Returns:
        Frames of the same shape.
    """

    def __init__(self, mel_warp=0.1, frequency_masks=2, frequency_mask_bins=6, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= mel_warp < 1:
            raise ValueError(f"mel_warp must be in [0, 1), got {mel_warp}")
        if frequency_masks < 0 or frequency_mask_bins < 0:
            raise ValueError(
                "frequency_masks and frequency_mask_bins must be 0 or more, "
                f"got {frequency_masks} and {frequency_mask_bins}"
            )
        self.mel_warp, self.frequency_masks, self.frequency_mask_bins = mel_warp, frequency_masks, frequency_mask_bins
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, frames, training=None):
        if not training or not (self.mel_warp or self.frequency_masks):
            return frames
        batch, bins = tf.shape(frames)[0], frames.shape[-1]
        stretch = keras.random.uniform(
            [batch, 1], 1 - self.mel_warp, 1 + self.mel_warp, dtype=frames.dtype, seed=self.seed_generator
        )
        positions = tf.clip_by_value(tf.range(bins, dtype=frames.dtype)[tf.newaxis] * stretch, 0.0, bins - 1.0)
        below = tf.cast(tf.floor(positions), tf.int32)
        above = tf.minimum(below + 1, bins - 1)
        weight = (positions - tf.cast(below, frames.dtype))[:, tf.newaxis, :]
        warped = (1 - weight) * tf.gather(frames, below, axis=2, batch_dims=1) + weight * tf.gather(
            frames, above, axis=2, batch_dims=1
        )
        mean = tf.reduce_mean(warped, axis=[1, 2], keepdims=True)
        index = tf.range(bins)[tf.newaxis]
        for _ in range(self.frequency_masks):
            width = tf.cast(
                keras.random.uniform([batch, 1], 0, self.frequency_mask_bins + 1, seed=self.seed_generator), tf.int32
            )
            start = tf.cast(
                keras.random.uniform([batch, 1], 0, 1, seed=self.seed_generator)
                * tf.cast(bins - width + 1, tf.float32),
                tf.int32,
            )
            band = (index >= start) & (index < start + width)
            warped = tf.where(band[:, tf.newaxis, :], mean, warped)
        return warped

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            mel_warp=self.mel_warp,
            frequency_masks=self.frequency_masks,
            frequency_mask_bins=self.frequency_mask_bins,
            seed=self.seed,
        )
        return config
