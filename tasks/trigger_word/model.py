"""The trigger-word detector: raw 16 kHz samples in, a probability per 40 ms step out, offline or streaming."""

import dataclasses

import keras
import tensorflow as tf

from tasks.trigger_word.config import FRONT_ENDS
from zoo.layers import LogMelSpectrogram, RecurrentStack, SpectrogramAugment, SpeechEmbedding


@keras.saving.register_keras_serializable(package="zoo")
class TriggerWordDetector(keras.Model):
    """Log-mel frames (warped and masked in frequency while training) -> a front end + batch norm -> dropout
    -> unidirectional recurrent stack -> dropout -> a sigmoid per step: P(the trigger word ended within the last
    half second).

    The front end is the course's Conv1D (valid, strided) with a ReLU after its batch norm, over 40 log-mel
    bands and trained with the rest ("conv"), or the frozen `SpeechEmbedding` pretrained on real speech over
    its own 32 bands, one window of 76 frames every `embedding_stride` frames ("speech_embedding"; its
    outputs lie far from zero, tens apart between dimensions, so the batch norm is what the recurrent stack
    can learn from).

    Causal by construction: step `t` hears the samples up to `(t + 1) * step_samples` and nothing after, with
    `context_samples` of zeros before the audio, so a stream cut into chunks gives the probabilities of the
    whole (`stream`). A stream's state is one float vector per row, `state_size` long: the samples not yet
    consumed (right-aligned in `receptive_samples`), how many beyond the context are pending, and the
    recurrent states. All zeros is the start of a stream.

    Args:
        sample_rate: of the input samples (16000 for "speech_embedding", the rate its network was trained at).
        front_end: "conv" or "speech_embedding".
        conv_filters, conv_kernel, conv_stride: the Conv1D over the spectrogram frames ("conv").
        embedding_stride: frames between the speech embedding's windows ("speech_embedding").
        recurrent: the `RecurrentStack`'s `cell`, `hidden_dim`, `num_layers` and `dropout` (also the dropout
            before the output).
        input_dropout: the dropout on the front end's outputs; None: the recurrent stack's.
        augment: `SpectrogramAugment`'s `mel_warp`, `frequency_masks` and `frequency_mask_bins`; None trains on
            the frames as they are.

    Call arguments:
        samples: float `(batch, num_samples)`.

    Returns:
        Probabilities `(batch, num_samples // step_samples)`.
    """

    def __init__(
        self,
        sample_rate=16000,
        conv_filters=196,
        conv_kernel=15,
        conv_stride=4,
        recurrent=None,
        augment=None,
        front_end="conv",
        embedding_stride=8,
        input_dropout=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if front_end not in FRONT_ENDS:
            raise ValueError(f"front_end must be one of {FRONT_ENDS}, got {front_end!r}")
        self.sample_rate = sample_rate
        self.conv_filters = conv_filters
        self.conv_kernel = conv_kernel
        self.conv_stride = conv_stride
        self.recurrent = dict(recurrent or {})
        self.augment = dict(augment) if augment else None
        self.front_end = front_end
        self.embedding_stride = embedding_stride
        self.input_dropout = input_dropout
        if front_end == "conv":
            self.features = LogMelSpectrogram(
                sample_rate, frame_length=sample_rate // 40, hop_length=sample_rate // 100
            )
            self.conv = keras.layers.Conv1D(conv_filters, conv_kernel, strides=conv_stride, name="conv")
            window_frames, stride_frames = conv_kernel, conv_stride
        else:
            self.features = SpeechEmbedding.log_mel_spectrogram()
            self.embedding = SpeechEmbedding(embedding_stride, name="speech_embedding")
            window_frames, stride_frames = SpeechEmbedding.WINDOW_FRAMES, embedding_stride
        self.norm = keras.layers.BatchNormalization(name="conv_norm" if front_end == "conv" else "embedding_norm")
        self.spectrogram_augment = SpectrogramAugment(**self.augment) if self.augment else None
        self.dropout = keras.layers.Dropout(self.recurrent.get("dropout", 0.0))
        self.front_end_dropout = self.dropout if input_dropout is None else keras.layers.Dropout(input_dropout)
        self.stack = RecurrentStack(**self.recurrent, return_sequences=True, return_state=True)
        self.output_layer = keras.layers.Dense(1, activation="sigmoid", name="probability")
        hop = self.features.hop_length
        self.step_samples = stride_frames * hop
        self.receptive_samples = self.features.frame_length + (window_frames - 1) * hop
        self.context_samples = self.receptive_samples - self.step_samples
        self.recurrent_state_size = self.stack.states_per_layer * self.stack.num_layers * self.stack.hidden_dim
        self.state_size = self.receptive_samples + 1 + self.recurrent_state_size
        self.build()

    @property
    def step_seconds(self):
        return self.step_samples / self.sample_rate

    def build(self, input_shape=None):
        frames = (None, None, self.features.num_mel_bins)
        if self.front_end == "conv":
            self.conv.build(frames)
            width = self.conv_filters
        else:
            self.embedding.build(frames)
            width = SpeechEmbedding.OUTPUT_DIM
        self.norm.build((None, None, width))
        self.stack.build((None, None, width))
        self.output_layer.build((None, None, self.stack.output_dim))
        self.built = True

    def call(self, samples, training=None):
        return self.stream(samples, self.zero_state(tf.shape(samples)[0]), training)[0]

    def zero_state(self, batch):
        return tf.zeros([batch, self.state_size])

    def stream(self, samples, state, training=None):
        """The probabilities of the steps that `samples` complete, after the audio `state` summarizes.

        Args:
            samples: float `(batch, n)`, the next chunk of each row's stream (any `n`, 0 included).
            state: `(batch, state_size)`, zeros at the start; every row has had chunks of the same lengths.

        Returns:
            `(probabilities (batch, steps), state)`, `steps` the 40-ms steps the chunk completes.
        """
        samples = tf.cast(samples, tf.float32)
        history, leftover, recurrent_state = tf.split(
            state, [self.receptive_samples, 1, self.recurrent_state_size], axis=1
        )
        pending = self.context_samples + tf.cast(leftover[0, 0], tf.int32)
        audio = tf.concat([history[:, self.receptive_samples - pending :], samples], axis=1)
        length = tf.shape(audio)[1]
        steps = (length - self.context_samples) // self.step_samples
        # At least one step's samples go through the layers (a Conv1D needs a whole kernel); the padded
        # step is masked, so the recurrent state stays where the stream is.
        computed = tf.maximum(steps, 1)
        used = self.context_samples + computed * self.step_samples
        audio_used = tf.pad(audio, [[0, 0], [0, tf.maximum(used - length, 0)]])[:, :used]
        frames = self.features(audio_used)
        if self.spectrogram_augment is not None:
            frames = self.spectrogram_augment(frames, training=training)
        if self.front_end == "conv":
            hidden = tf.nn.relu(self.norm(self.conv(frames), training=training))
        else:
            hidden = self.norm(self.embedding(frames), training=training)
        hidden = self.front_end_dropout(hidden, training=training)
        mask = tf.broadcast_to(tf.range(computed) < steps, tf.shape(hidden)[:2])
        outputs, *states = self.stack(
            hidden,
            mask=mask,
            initial_state=tf.split(recurrent_state, self.stack.states_per_layer * self.stack.num_layers, axis=1),
            training=training,
        )
        probabilities = self.output_layer(self.dropout(outputs, training=training))[:, :steps, 0]
        consumed = steps * self.step_samples
        new_history = tf.concat([history, samples], axis=1)[:, -self.receptive_samples :]
        new_leftover = tf.fill(tf.shape(leftover), tf.cast(length - consumed - self.context_samples, tf.float32))
        return probabilities, tf.concat([new_history, new_leftover, *states], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate,
            conv_filters=self.conv_filters,
            conv_kernel=self.conv_kernel,
            conv_stride=self.conv_stride,
            recurrent=self.recurrent,
            augment=self.augment,
            front_end=self.front_end,
            embedding_stride=self.embedding_stride,
            input_dropout=self.input_dropout,
        )
        return config


def build_detector(config):
    """The detector a `TriggerWordConfig` describes, its speech embedding (if any) pretrained."""
    detector = TriggerWordDetector(
        conv_filters=config.conv_filters,
        conv_kernel=config.conv_kernel,
        conv_stride=config.conv_stride,
        recurrent=dataclasses.asdict(config.recurrent),
        augment=dataclasses.asdict(config.augment),
        front_end=config.front_end,
        embedding_stride=config.embedding_stride,
        input_dropout=config.input_dropout,
        name="trigger_word_detector",
    )
    if config.front_end == "speech_embedding":
        detector.embedding.load_pretrained()
    return detector
