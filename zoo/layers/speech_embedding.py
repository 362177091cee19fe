"""A speech embedding pretrained on real speech: 0.775 s of log-mel frames to 96 numbers."""

import importlib.resources
import math

import keras
import numpy as np
import tensorflow as tf

from zoo.layers.log_mel_spectrogram import LogMelSpectrogram

# (kernel height, kernel width, filters) of each convolution after the first, and the max pools between them.
# Kernels 1 x 3 pad the mel axis ("same"); kernels 3 x 1 shrink the time axis by 2 ("valid"); after the last
# pool one frame is left.
_BLOCKS = (
    [(1, 3, 24), (3, 1, 24), (2, 2)]
    + [(1, 3, 48), (3, 1, 48)] * 2
    + [(1, 2)]
    + [(1, 3, 72), (3, 1, 72)] * 2
    + [(2, 2)]
    + [(1, 3, 96), (3, 1, 96)] * 2
    + [(1, 2)]
    + [(1, 3, 96), (3, 1, 96)] * 2
    + [(2, 2)]
)
ONNX_FILE = "embedding_model.onnx"  # in the openwakeword 0.4.0 package's resources/models


@keras.saving.register_keras_serializable(package="zoo")
class SpeechEmbedding(keras.layers.Layer):
    """Google's speech embedding (Lin et al. 2020, "Training keyword spotters with limited and synthesized speech
    data"): a stack of small convolutions that maps each window of 76 log-mel frames (10 ms apart, 0.775 s) to
    96 numbers, pretrained on a large corpus of real speech. A detector trained on synthesized voices alone
    learns from these what the word sounds like in general rather than in the voices it heard.

    Its frames are those of `SpeechEmbedding.log_mel_spectrogram()` for 16-kHz samples in [-1, 1] (the natural
    log of 32 Slaney-style mel bands); the layer maps them to the decibel scale, 16-bit sample range and offset
    the network was trained on.
    `load_pretrained()` reads the weights from the `openwakeword` 0.4.0 package (Apache 2.0, Google's weights);
    a saved model holds them, so loading one needs neither package.

    Args:
        stride_frames: frames between successive windows (8: 80 ms).

    Call arguments:
        frames: float `(batch, num_frames, 32)`.

    Returns:
        `(batch, 1 + (num_frames - 76) // stride_frames, 96)`: one embedding per window, the window ending at
        frame `75 + i * stride_frames` for output `i`.
    """

    WINDOW_FRAMES = 76
    MEL_BINS = 32
    OUTPUT_DIM = 96
    _TIME_POOLING = 8  # the three 2x pools in time: a run over a sequence gives one window every 8 frames
    # The network's input was 10 * log10(mel power of 16-bit samples) / 10 + 2, the power floored at 1e-10.
    MEL_FLOOR = 1e-10 / 32768.0**2
    _INPUT_OFFSET = 2 * math.log10(32768.0) + 2.0

    def __init__(self, stride_frames=8, trainable=False, **kwargs):
        super().__init__(**kwargs)
        if stride_frames < 1:
            raise ValueError(f"stride_frames must be at least 1, got {stride_frames}")
        self.stride_frames = stride_frames
        # The first convolution pads the mel axis only: 76 frames become 74.
        policy = self.dtype_policy
        self.first_padding = keras.layers.ZeroPadding2D(((0, 0), (1, 1)), dtype=policy)
        self.first = keras.layers.Conv2D(24, 3, use_bias=False, name="conv_0", dtype=policy)
        self.first_norm = keras.layers.BatchNormalization(epsilon=1e-3, name="conv_0_norm", dtype=policy)
        self.blocks = []
        for index, block in enumerate(_BLOCKS):
            if len(block) == 2:
                self.blocks.append(keras.layers.MaxPooling2D(block, name=f"pool_{index}", dtype=policy))
            else:
                height, width, filters = block
                padding = "same" if height == 1 else "valid"
                self.blocks.append(
                    keras.layers.Conv2D(
                        filters, (height, width), padding=padding, name=f"conv_{index + 1}", dtype=policy
                    )
                )
        self.last = keras.layers.Conv2D(self.OUTPUT_DIM, (3, 1), use_bias=False, name="conv_out", dtype=policy)
        # Frozen by default: set after the sublayers exist, so that they are frozen too.
        self.trainable = trainable

    def build(self, input_shape=None):
        shape = (None, None, self.MEL_BINS + 2, 1)
        self.first.build(shape)
        shape = self.first.compute_output_shape(shape)
        self.first_norm.build(shape)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.last.build(shape)
        self.built = True

    @classmethod
    def log_mel_spectrogram(cls):
        """The features the network was trained on: 25-ms frames every 10 ms at 16 kHz, 32 bands from 60 to
        3,800 Hz."""
        return LogMelSpectrogram(
            16000,
            frame_length=400,
            hop_length=160,
            num_mel_bins=cls.MEL_BINS,
            lower_hertz=60.0,
            upper_hertz=3800.0,
            floor=cls.MEL_FLOOR,
            mel_scale="slaney",
        )

    @staticmethod
    def _activation(x):
        # The network's clamp: leaky ReLU, then nothing below -0.4.
        return tf.maximum(tf.nn.leaky_relu(x, alpha=0.2), -0.4)

    def _embed_sequence(self, inputs):
        """`(batch, num_frames, 32)` network inputs to `(batch, 1 + (num_frames - 76) // 8, 96)`: the windows
        starting at every 8th frame, at once. In time the network is valid convolutions and three 2x pools, so
        over a whole sequence it computes each frame once, where window by window it would compute it once per
        window the frame falls in (9.5 times at a stride of 8); the pools' pairs fall where a window's would."""
        # expand_dims and squeeze, not [..., None] and [:, :, 0]: TensorFlow Lite's slices take no new axes.
        x = self.first(self.first_padding(tf.expand_dims(inputs, -1)))
        x = self._activation(self.first_norm(tf.nn.relu(x), training=False))
        for block in self.blocks:
            x = block(x)
            if isinstance(block, keras.layers.Conv2D):
                x = self._activation(x)
        return tf.squeeze(self.last(x), axis=2)

    def embed_windows(self, windows):
        """`(n, 76, 32)` network inputs (decibels / 10 + 2) to `(n, 96)`."""
        return self._embed_sequence(windows)[:, 0, :]

    @classmethod
    def network_inputs(cls, frames):
        """Frames of `log_mel_spectrogram()` as the network takes them (what `embed_windows` windows)."""
        return frames / math.log(10.0) + cls._INPUT_OFFSET

    def call(self, frames):
        inputs = self.network_inputs(frames)
        num_frames = tf.shape(inputs)[1]
        steps = tf.maximum(1 + (num_frames - self.WINDOW_FRAMES) // self.stride_frames, 0)
        # Window i starts at frame i * stride: output (i * stride) // 8 of the run over the frames from its
        # phase (i * stride) % 8 on. Zeros at the end give every run at least one window; none is gathered.
        phases = sorted({(i * self.stride_frames) % self._TIME_POOLING for i in range(self._TIME_POOLING)})
        inputs = tf.pad(inputs, [[0, 0], [0, tf.maximum(self.WINDOW_FRAMES + phases[-1] - num_frames, 0)], [0, 0]])
        runs = [self._embed_sequence(inputs[:, phase:]) for phase in phases]
        run_starts = tf.math.cumsum([0] + [tf.shape(run)[1] for run in runs[:-1]])
        run_of_phase = tf.constant([phases.index(p) if p in phases else 0 for p in range(self._TIME_POOLING)])
        starts = tf.range(steps) * self.stride_frames
        index = tf.gather(run_starts, tf.gather(run_of_phase, starts % self._TIME_POOLING))
        return tf.gather(tf.concat(runs, axis=1), index + starts // self._TIME_POOLING, axis=1)

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        steps = None if frames is None else 1 + (frames - self.WINDOW_FRAMES) // self.stride_frames
        return (input_shape[0], steps, self.OUTPUT_DIM)

    def load_onnx(self, path):
        """Sets the weights from openwakeword's ONNX export of the network."""
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(path)).graph
        constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        convs = [node for node in graph.node if node.op_type == "Conv"]
        norm = next(node for node in graph.node if node.op_type == "BatchNormalization")
        layers = [self.first] + [b for b in self.blocks if isinstance(b, keras.layers.Conv2D)] + [self.last]
        if len(convs) != len(layers):
            raise ValueError(f"{path}: {len(convs)} convolutions, expected {len(layers)}")
        for node, layer in zip(convs, layers):
            # ONNX kernels are (out, in, height, width); Keras', (height, width, in, out).
            weights = [np.transpose(constants[node.input[1]], (2, 3, 1, 0))]
            weights += [constants[node.input[2]]] if len(node.input) > 2 else []
            layer.set_weights(weights)
        self.first_norm.set_weights([constants[name] for name in norm.input[1:]])
        return self

    def load_pretrained(self):
        """Sets Google's weights, read from the installed `openwakeword` 0.4.0 package."""
        try:
            models = importlib.resources.files("openwakeword") / "resources" / "models"
        except ModuleNotFoundError as error:
            raise RuntimeError(
                "the speech embedding's weights come from the openwakeword 0.4.0 package: "
                "pip install openwakeword==0.4.0 onnx"
            ) from error
        if not self.built:
            self.build()
        return self.load_onnx(models / ONNX_FILE)

    def get_config(self):
        config = super().get_config()
        config.update(stride_frames=self.stride_frames)
        return config
