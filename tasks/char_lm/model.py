"""The character language model, end to end: strings in, log-probabilities or sampled strings out."""

import dataclasses

import keras
import tensorflow as tf

from data_pipelines import text
from tasks.char_lm.data import END_ID, END_TOKEN
from zoo import decoding
from zoo.layers import RecurrentStack

NEG_INF = float("-inf")
# Padding's logit: no probability after the softmax, yet finite, so a masked loss position never makes NaN.
PAD_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="zoo")
class CharLanguageModel(keras.Model):
    """Characters through an embedding and a recurrent stack to a softmax over the next character.

    Ids: `text.PAD_ID` (0) pads, `text.UNKNOWN_ID` (1) stands for every character outside the
    vocabulary, `END_ID` (2) starts the input and ends the target of every sequence, and the
    vocabulary's characters follow. Padding never has probability; the unknown character has the
    probability the model gives it, so any string gets a finite score, but sampling never picks it.

    Args:
        vocabulary: the training characters, in id order.
        lowercase: lower-case strings before scoring them (as the training text was).
        embedding_dim: character embedding size.
        recurrent: the `RecurrentStack`'s `cell`, `hidden_dim`, `num_layers` and `dropout` (the fields of a
            `zoo.config.RecurrentConfig`); the dropout also applies to the embeddings and before the
            output layer.
        max_sample_length: the most characters `sample` generates after the prefix.

    Call arguments:
        inputs: int `(batch, time)` ids, `END_ID` first, right-padded with `PAD_ID`.

    Returns:
        Next-character logits `(batch, time, vocab_size)`, `PAD_LOGIT` at `PAD_ID`.
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        embedding_dim=32,
        recurrent=None,
        max_sample_length=64,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self.embedding_dim = embedding_dim
        self.recurrent = dict(recurrent or {})
        self.max_sample_length = max_sample_length

        self.lookup = keras.layers.StringLookup(
            vocabulary=[END_TOKEN] + self.vocabulary, mask_token="", num_oov_indices=1, name="char_lookup"
        )
        self.vocab_size = self.lookup.vocabulary_size()
        # What each id prints as: nothing for padding, the unknown character and the end.
        self.id_to_char = tf.constant(["", "", ""] + self.vocabulary)
        self.embedding = keras.layers.Embedding(self.vocab_size, embedding_dim, mask_zero=True, name="embedding")
        self.stack = RecurrentStack(**self.recurrent, return_sequences=True, return_state=True, name="stack")
        self.dropout_layer = keras.layers.Dropout(self.stack.dropout)
        self.output_layer = keras.layers.Dense(self.vocab_size, name="next_char")
        self.build()

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.stack.build((None, None, self.embedding_dim))
        self.output_layer.build((None, None, self.stack.output_dim))
        self.built = True

    def _logits(self, outputs, training=None):
        logits = self.output_layer(self.dropout_layer(outputs, training=training))
        return tf.where(tf.range(self.vocab_size) == text.PAD_ID, PAD_LOGIT, logits)

    def call(self, inputs, training=None):
        embedded = self.dropout_layer(self.embedding(inputs), training=training)
        outputs, *_ = self.stack(embedded, mask=inputs != text.PAD_ID, training=training)
        return self._logits(outputs, training)

    # Strings <-> ids, in the graph.

    def char_ids(self, strings):
        """Strings `(batch,)` -> ragged int32 character ids (unknown characters: `text.UNKNOWN_ID`)."""
        chars = tf.strings.unicode_split(strings, "UTF-8", errors="replace")
        if self.lowercase:
            # Character by character: lower-casing a whole string stops at its first NUL.
            chars = tf.ragged.map_flat_values(tf.strings.lower, chars, encoding="utf-8")
        ids = tf.cast(self.lookup(chars), tf.int32)
        # NUL lower-cases to "", the mask's id; every character is a real one, so it is unknown instead.
        return tf.ragged.map_flat_values(lambda values: tf.where(values == text.PAD_ID, text.UNKNOWN_ID, values), ids)

    # Scoring.

    def score(self, strings):
        """Natural log P(string, then the end) `(batch,)`, and the characters scored (end included)."""
        char_ids = self.char_ids(strings)
        end = tf.fill([tf.shape(strings)[0], 1], END_ID)
        inputs = tf.concat([end, char_ids], axis=1).to_tensor(text.PAD_ID)
        targets = tf.concat([char_ids, end], axis=1).to_tensor(text.PAD_ID)
        log_probs = tf.nn.log_softmax(self(inputs))
        target_log_probs = tf.gather(log_probs, targets, batch_dims=2)
        valid = targets != text.PAD_ID
        return tf.reduce_sum(tf.where(valid, target_log_probs, 0.0), axis=1), tf.reduce_sum(
            tf.cast(valid, tf.int32), axis=1
        )

    # Sampling.

    def zero_state(self, batch):
        states = self.stack.states_per_layer * self.stack.num_layers
        return [tf.zeros([batch, self.stack.hidden_dim]) for _ in range(states)]

    def step(self, tokens, state, context=None):
        """One step for `zoo.decoding`: log P(next | token, state) `(n, vocab)` and the new state; padding
        and the unknown character are never sampled."""
        embedded = self.embedding(tokens[:, None])
        outputs, *state = self.stack(embedded, initial_state=state)
        log_probs = tf.nn.log_softmax(self._logits(outputs[:, 0]))
        return tf.where(tf.range(self.vocab_size) <= text.UNKNOWN_ID, NEG_INF, log_probs), state

    def sample(self, num_samples, temperature=1.0, seed=0, prefix="", top_k=0, top_p=1.0):
        """`num_samples` strings that continue `prefix` until the end token or `max_sample_length` characters.

        Args:
            seed: an int; the same seed gives the same strings, in Keras and in the SavedModel.
            temperature, top_k, top_p: as in `zoo.decoding.filter_log_probs`.

        Returns:
            `{"text": strings (num_samples,), "log_prob": log P of the sampled continuation}`.
        """
        prefix = tf.convert_to_tensor(prefix, tf.string)
        tokens = tf.concat([[END_ID], self.char_ids(prefix[None]).values], axis=0)

        def prime(index, state):
            return index + 1, self.step(tf.reshape(tokens[index], [1]), state)[1]

        _, state = tf.while_loop(
            lambda index, _: index < tf.size(tokens) - 1, prime, (tf.constant(0), self.zero_state(1))
        )
        state = [tf.repeat(tensor, num_samples, axis=0) for tensor in state]
        result = decoding.sample(
            self.step,
            state,
            (),
            tf.fill([num_samples], tokens[-1]),
            END_ID,
            self.max_sample_length,
            tf.stack([tf.cast(seed, tf.int32), 0]),
            temperature,
            top_k,
            top_p,
        )
        chars = tf.RaggedTensor.from_tensor(tf.gather(self.id_to_char, result["ids"]), lengths=result["lengths"])
        return {"text": prefix + tf.strings.reduce_join(chars, axis=1), "log_prob": result["log_prob"]}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "lowercase": self.lowercase,
                "embedding_dim": self.embedding_dim,
                "recurrent": self.recurrent,
                "max_sample_length": self.max_sample_length,
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
