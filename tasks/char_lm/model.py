"""The character language model, end to end: strings in, log-probabilities or sampled strings out."""

import dataclasses

import keras
import tensorflow as tf

from data_pipelines import text
from tasks.char_lm.data import END_ID, END_TOKEN, FIRST_CHAR_ID
from zoo.language_model import RecurrentLanguageModel


@keras.saving.register_keras_serializable(package="zoo")
class CharLanguageModel(RecurrentLanguageModel):
    """Strings in, their log-probabilities or new strings out: a `RecurrentLanguageModel` over characters.

    Ids: `text.PAD_ID` (0) pads, `text.UNKNOWN_ID` (1) stands for every character outside the
    vocabulary, `END_ID` (2) starts the input and ends the target of every sequence, and the
    vocabulary's characters follow. The unknown character has the probability the model gives it, so any
    string gets a finite score, but sampling never picks it.

    Args:
        vocabulary: the training characters, in id order.
        lowercase: lower-case strings before scoring them (as the training text was).
        embedding_dim, recurrent: as in `RecurrentLanguageModel`.
        max_sample_length: the most characters `sample` generates after the prefix.
        max_score_length: the most characters `score` reads: a longer string is scored on its first
            `max_score_length` characters (then the end), which bounds the time of one call.

    Call arguments:
        inputs: int `(batch, time)` ids, `END_ID` first, right-padded with `PAD_ID`.

    Returns:
        Next-character logits `(batch, time, vocab_size)`.
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        embedding_dim=32,
        recurrent=None,
        max_sample_length=64,
        max_score_length=20_000,
        **kwargs,
    ):
        vocabulary = list(vocabulary)
        super().__init__(
            FIRST_CHAR_ID + len(vocabulary),
            embedding_dim,
            recurrent,
            never_sampled=[text.UNKNOWN_ID],
            output_name="next_char",
            **kwargs,
        )
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self.max_sample_length = max_sample_length
        self.max_score_length = max_score_length
        self.lookup = keras.layers.StringLookup(
            vocabulary=[END_TOKEN] + self.vocabulary, mask_token="", num_oov_indices=1, name="char_lookup"
        )
        # What each id prints as: nothing for padding, the unknown character and the end.
        self.id_to_char = tf.constant([""] * FIRST_CHAR_ID + self.vocabulary)
        self.build()

    def char_ids(self, strings):
        """Strings `(batch,)` -> ragged int32 character ids (unknown characters: `text.UNKNOWN_ID`)."""
        chars = tf.strings.unicode_split(strings, "UTF-8", errors="replace")
        if self.lowercase:
            # Character by character: lower-casing a whole string stops at its first NUL.
            chars = tf.ragged.map_flat_values(tf.strings.lower, chars, encoding="utf-8")
        ids = tf.cast(self.lookup(chars), tf.int32)
        # NUL lower-cases to "", the mask's id; every character is a real one, so it is unknown instead.
        return tf.ragged.map_flat_values(lambda values: tf.where(values == text.PAD_ID, text.UNKNOWN_ID, values), ids)

    def score(self, strings):
        """Natural log P(string, then the end) `(batch,)`, and the characters scored (end included)."""
        char_ids = self.char_ids(strings)[:, : self.max_score_length]
        end = tf.fill([tf.shape(strings)[0], 1], END_ID)
        inputs = tf.concat([end, char_ids], axis=1).to_tensor(text.PAD_ID)
        targets = tf.concat([char_ids, end], axis=1).to_tensor(text.PAD_ID)
        return self.score_ids(inputs, targets)

    def sample(self, num_samples, temperature=1.0, seed=0, prefix="", top_k=0, top_p=1.0):
        """`num_samples` strings that continue `prefix` until the end token or `max_sample_length` characters.

        Args:
            seed: an int; the same seed gives the same strings, in Keras and in the SavedModel.
            temperature, top_k, top_p: as in `zoo.decoding.filter_log_probs`.

        Returns:
            `{"text": strings (num_samples,), "log_prob": log P of the sampled continuation}`.
        """
        prefix = tf.convert_to_tensor(prefix, tf.string)
        primer = tf.concat([[END_ID], self.char_ids(prefix[None]).values], axis=0)
        result = self.sample_ids(primer, num_samples, END_ID, self.max_sample_length, seed, temperature, top_k, top_p)
        chars = tf.RaggedTensor.from_tensor(tf.gather(self.id_to_char, result["ids"]), lengths=result["lengths"])
        return {"text": prefix + tf.strings.reduce_join(chars, axis=1), "log_prob": result["log_prob"]}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "lowercase": self.lowercase,
                "max_sample_length": self.max_sample_length,
                "max_score_length": self.max_score_length,
            }
        )
        return config


def build_language_model(config, vocabulary):
    """A `CharLanguageModel` sized by a `CharLmConfig`."""
    return CharLanguageModel(
        vocabulary,
        lowercase=config.lowercase,
        embedding_dim=config.embedding_dim,
        recurrent=dataclasses.asdict(config.recurrent),
        max_sample_length=config.max_sample_length,
        name="char_language_model",
    )
