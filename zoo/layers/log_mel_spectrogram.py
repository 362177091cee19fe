"""Raw audio samples to a log-mel spectrogram, inside the graph."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class LogMelSpectrogram(keras.layers.Layer):
    """Frames, a Hann-windowed STFT, the power spectrum through a mel filter bank, then the natural log.

    No centering and no padding: frame `i` covers samples `[i * hop_length, i * hop_length + frame_length)`,
    so features of a stream cut at a hop boundary equal the features of the whole (what streaming needs).

    Args:
        sample_rate: samples per second of the input.
        frame_length: samples per frame (400: 25 ms at 16 kHz).
        hop_length: samples between frame starts (160: 10 ms at 16 kHz).
        fft_length: FFT size, at least `frame_length`.
        num_mel_bins: mel bands.
        lower_hertz, upper_hertz: the filter bank's edges.
        mel_scale: "htk" (TensorFlow's filters: HTK's mel scale, peaks of 1) or "slaney" (librosa's default: the
            Auditory Toolbox's mel scale, each filter normalized to unit area), what `SpeechEmbedding` was
            trained on.
        floor: added to the mel power before the log, so silence gives a finite value.

    Call arguments:
        samples: float `(batch, num_samples)`.

    Returns:
        `(batch, 1 + (num_samples - frame_length) // hop_length, num_mel_bins)`.
    """

    def __init__(
        self,
        sample_rate=16000,
        frame_length=400,
        hop_length=160,
        fft_length=512,
        num_mel_bins=40,
        lower_hertz=20.0,
        upper_hertz=7600.0,
        floor=1e-6,
        mel_scale="htk",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if fft_length < frame_length:
            raise ValueError(f"fft_length ({fft_length}) must be at least frame_length ({frame_length})")
        if mel_scale not in ("htk", "slaney"):
            raise ValueError(f'mel_scale must be "htk" or "slaney", got {mel_scale!r}')
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.hop_length = hop_length
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_hertz = lower_hertz
        self.upper_hertz = upper_hertz
        self.floor = floor
        self.mel_scale = mel_scale
        if mel_scale == "htk":
            self.mel_matrix = tf.signal.linear_to_mel_weight_matrix(
                num_mel_bins, fft_length // 2 + 1, sample_rate, lower_hertz, upper_hertz
            )
        else:
            import librosa

            filters = librosa.filters.mel(
                sr=sample_rate, n_fft=fft_length, n_mels=num_mel_bins, fmin=lower_hertz, fmax=upper_hertz
            )
            self.mel_matrix = tf.constant(filters.T, tf.float32)

    def call(self, samples):
        stft = tf.signal.stft(
            tf.cast(samples, tf.float32), self.frame_length, self.hop_length, self.fft_length, pad_end=False
        )
        # Real and imaginary parts rather than a complex conjugate: TensorFlow Lite has builtins for these.
        power = tf.math.real(stft) ** 2 + tf.math.imag(stft) ** 2
        return tf.math.log(tf.matmul(power, self.mel_matrix) + self.floor)

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[1] is None else 1 + (input_shape[1] - self.frame_length) // self.hop_length
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate,
            frame_length=self.frame_length,
            hop_length=self.hop_length,
            fft_length=self.fft_length,
            num_mel_bins=self.num_mel_bins,
            lower_hertz=self.lower_hertz,
            upper_hertz=self.upper_hertz,
            floor=self.floor,
            mel_scale=self.mel_scale,
        )
        return config
