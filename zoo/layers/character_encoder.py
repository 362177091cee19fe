"""One vector per word from its characters."""

import keras
from keras import ops

from zoo.layers.recurrent_stack import RecurrentStack

ENCODERS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="zoo")
class CharacterEncoder(keras.layers.Layer):
    """Encodes each word's characters into one vector: a CNN with max pooling or a BiLSTM.

    `"cnn"` (Ma and Hovy, 2016) convolves character embeddings and takes the maximum over the word's
    characters; `"lstm"` (Lample et al., 2016) concatenates the final states of a bidirectional
    LSTM read over them. Either captures prefixes, suffixes and shape, which is what a tagger
    needs for words it has never seen.

    Args:
        vocab_size: character ids in use, padding (0) included.
        embedding_dim: character embedding size.
        hidden_dim: CNN filters, or LSTM units per direction (the output is then `2 * hidden_dim`).
        encoder: `"cnn"` or `"lstm"`.
        kernel_size: CNN window in characters.

    Call arguments:
        char_ids: int `(batch, time, chars)`, right-padded with 0.

    Returns:
        float `(batch, time, d)`; zeros for words without characters (padding), which are also
        masked out, so that `Concatenate` (which ORs its inputs' masks) keeps padding masked.
    """

    def __init__(self, vocab_size, embedding_dim=32, hidden_dim=64, encoder="cnn", kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.encoder = encoder
        self.kernel_size = kernel_size
        # Padding characters are excluded by hand below, so the embedding attaches no mask.
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, name="char_embedding", dtype=self.dtype_policy
        )
        if encoder == "cnn":
            self.convolution = keras.layers.Conv1D(
                hidden_dim, kernel_size, padding="same", activation="tanh", dtype=self.dtype_policy
            )
        else:
            self.recurrent = RecurrentStack("lstm", hidden_dim, bidirectional=True, dtype=self.dtype_policy)

    @property
    def output_dim(self):
        return self.hidden_dim * (1 if self.encoder == "cnn" else 2)

    def build(self, input_shape):
        words_shape = (None, input_shape[-1])
        self.embedding.build(words_shape)
        if self.encoder == "cnn":
            self.convolution.build(words_shape + (self.embedding_dim,))
        else:
            self.recurrent.build(words_shape + (self.embedding_dim,))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        per_word = ops.reshape(char_ids, (-1, shape[-1]))
        present = per_word > 0
        embedded = self.embedding(per_word)
        if self.encoder == "cnn":
            features = self.convolution(embedded)
            features = ops.max(ops.where(present[:, :, None], features, -2.0), axis=1)
            features = ops.where(ops.any(present, axis=1)[:, None], features, 0.0)
        else:
            features = self.recurrent(embedded, mask=present)
            features = ops.where(ops.any(present, axis=1)[:, None], features, 0.0)
        return ops.reshape(features, (shape[0], shape[1], self.output_dim))

    def compute_mask(self, char_ids, mask=None):
        return ops.any(char_ids > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2]) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "encoder": self.encoder,
            "kernel_size": self.kernel_size,
        }
