"""Marks the tokens of a sentence that lexicon phrases cover, one BIES tag per lexicon."""

import keras
import tensorflow as tf

from data_pipelines import words

MATCH_TAGS = ("B", "I", "E", "S")  # a token outside every phrase of a lexicon is all zeros


def _place(position, length):
    """The `MATCH_TAGS` letter of the token at `position` of a phrase of `length` tokens."""
    if length == 1:
        return "S"
    return "B" if position == 0 else "E" if position == length - 1 else "I"


@keras.saving.register_keras_serializable(package="zoo")
class LexiconMatch(keras.layers.Layer):
    """Per token and lexicon, where the token lies in the longest lexicon phrase that covers it.

    Tokens are compared normalized (`data_pipelines.words.normalize_words`), so matching ignores case and
    digits. A token covered by several phrases of one lexicon takes its place in the longest (ties: the one
    that starts first): `S` for a one-token phrase, else `B`, `I` or `E`. The phrases are stored in the
    layer's config, so a saved model takes token strings.

    Args:
        lexicons: `{name: phrases}`; a phrase is normalized tokens joined by single spaces.
        max_phrase_tokens: the longest phrase looked for; longer ones never match.

    Call arguments:
        tokens: string `(batch, time)`, right-padded with `""`.

    Returns:
        float32 `(batch, time, len(lexicons) * 4)`: one-hot `MATCH_TAGS` per lexicon, in the lexicons' order;
        its mask is the tokens that are not padding.
    """

    def __init__(self, lexicons, max_phrase_tokens=5, **kwargs):
        super().__init__(**kwargs)
        if not lexicons:
            raise ValueError("LexiconMatch needs at least one lexicon")
        if max_phrase_tokens < 1:
            raise ValueError(f"max_phrase_tokens must be at least 1, got {max_phrase_tokens}")
        self.lexicons = {name: list(phrases) for name, phrases in lexicons.items()}
        self.max_phrase_tokens = max_phrase_tokens
        # One table over every phrase; each phrase's bit mask says which lexicons hold it (bit i: the i-th).
        membership = {}
        for index, phrases in enumerate(self.lexicons.values()):
            for phrase in phrases:
                membership[phrase] = membership.get(phrase, 0) | (1 << index)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(list(membership), list(membership.values()), tf.string, tf.int32),
            default_value=0,
        )
        self.supports_masking = True

    def build(self, input_shape):
        self.built = True

    def call(self, tokens):
        normalized = words.normalize_words(tokens)
        time = tf.shape(tokens)[1]

        def shifted(values, offset, fill):
            """`values[:, t + offset]`, `fill` past either end."""
            if offset >= 0:
                return tf.pad(values[:, offset:], [[0, 0], [0, offset]], constant_values=fill)[:, :time]
            return tf.pad(values[:, :offset], [[0, 0], [-offset, 0]], constant_values=fill)[:, -time:]

        # starts[n - 1]: bit masks of the lexicons that hold the n tokens starting at each position.
        starts = []
        for length in range(1, self.max_phrase_tokens + 1):
            window = [shifted(normalized, offset, "") for offset in range(length)]
            complete = tf.reduce_all(tf.stack([token != "" for token in window]), axis=0)
            phrase = tf.strings.reduce_join(tf.stack(window, axis=-1), axis=-1, separator=" ")
            found = self.table.lookup(phrase)
            starts.append(tf.where(complete, found, 0))

        features = []
        for index in range(len(self.lexicons)):
            tag = tf.fill(tf.shape(tokens), -1)
            # Later writes win: longer phrases, and among equal ones the phrase that starts earlier.
            for length, found in enumerate(starts, start=1):
                held = tf.bitwise.bitwise_and(found, 1 << index)
                for position in range(length):
                    covers = shifted(held, -position, 0) > 0
                    tag = tf.where(covers, MATCH_TAGS.index(_place(position, length)), tag)
            features.append(tf.one_hot(tag, len(MATCH_TAGS)))
        return tf.concat(features, axis=-1)

    def compute_mask(self, tokens, mask=None):
        return keras.ops.not_equal(tokens, "")

    def compute_output_shape(self, input_shape):
        return (*input_shape, len(self.lexicons) * len(MATCH_TAGS))

    def get_config(self):
        return {**super().get_config(), "lexicons": self.lexicons, "max_phrase_tokens": self.max_phrase_tokens}
