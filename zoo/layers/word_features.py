"""Token strings to the ids a word-level tagger embeds: word, casing and characters."""

import keras
import tensorflow as tf

from data_pipelines import text, words


@keras.saving.register_keras_serializable(package="zoo")
class WordFeatures(keras.layers.Layer):
    """Looks up each token's normalized word, its casing class and its characters.

    The word vocabulary is stored in the layer's config, so a saved tagger takes token strings.
    Words are looked up lower-cased with digits replaced by 0; the casing class (see
    `data_pipelines.words.CASINGS`) keeps what lower-casing removes.

    Args:
        vocabulary: normalized words (`data_pipelines.words.normalize_words`), ids 2, 3, ... in order.
        max_word_length: characters kept per token for the character ids.
        unknown_word_rate: share of known words replaced by the unknown word in training, so that
            the unknown word's embedding is trained on words in all kinds of contexts.
        seed: seed of that replacement.

    Call arguments:
        tokens: string `(batch, time)`, right-padded with `""`.
        training: whether words are replaced by the unknown word.

    Returns:
        `[word_ids, casing_ids, char_ids]`: int64 `(batch, time)` with 0 for padding and 1 for an
        unknown word; int32 `(batch, time)` with 0 for padding; int32 `(batch, time, max_word_length)`.
    """

    def __init__(self, vocabulary, max_word_length=20, unknown_word_rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if max_word_length < 1:
            raise ValueError(f"max_word_length must be at least 1, got {max_word_length}")
        if not 0 <= unknown_word_rate < 1:
            raise ValueError(f"unknown_word_rate must be in [0, 1), got {unknown_word_rate}")
        self.vocabulary = list(vocabulary)
        self.max_word_length = max_word_length
        self.unknown_word_rate = unknown_word_rate
        self.seed = seed
        self.lookup = keras.layers.StringLookup(vocabulary=self.vocabulary, mask_token="", num_oov_indices=1)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        # The lookup table is created with the layer; nothing depends on the input shape.
        self.built = True

    @property
    def vocab_size(self):
        """Word ids in use, padding and unknown included."""
        return len(self.vocabulary) + 2

    def call(self, tokens, training=False):
        word_ids = self.lookup(words.normalize_words(tokens))
        if training and self.unknown_word_rate:
            drawn = keras.random.uniform(tf.shape(word_ids), seed=self.seed_generator)
            replaced = (drawn < self.unknown_word_rate) & (word_ids > text.UNKNOWN_ID)
            word_ids = tf.where(replaced, tf.constant(text.UNKNOWN_ID, word_ids.dtype), word_ids)
        return [word_ids, words.casing_ids(tokens), words.char_ids(tokens, self.max_word_length)]

    def compute_output_spec(self, tokens, training=False):
        shape = tuple(tokens.shape)
        return [
            keras.KerasTensor(shape, dtype="int64"),
            keras.KerasTensor(shape, dtype="int32"),
            keras.KerasTensor(shape + (self.max_word_length,), dtype="int32"),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "max_word_length": self.max_word_length,
            "unknown_word_rate": self.unknown_word_rate,
            "seed": self.seed,
        }
