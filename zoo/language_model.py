"""The core of every recurrent language model in the zoo: token ids in, next-token log-probabilities out,
exact scores of whole sequences, and sampling inside the graph with the shared sampler.

Tasks subclass it to turn their raw inputs (strings, melodies) into ids and back.
"""

import dataclasses
import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from data_pipelines import text
from zoo import decoding
from zoo.checks import checked
from zoo.layers import RecurrentStack
from zoo.task import Task, TaskData

PAD_ID = 0
NEG_INF = float("-inf")
# Padding's logit: no probability after the softmax, yet finite, so a masked loss position never makes NaN.
PAD_LOGIT = -1e9
# What one sampling call may ask for. They bound its time (about 10 s at the limits on a 2-core CPU), so a
# served model cannot be tied up by one request.
MAX_SAMPLES = 4096  # sequences per call
MAX_SAMPLE_LENGTH = 16_384  # tokens a sequence reads (its primer) or draws
MAX_SAMPLED_TOKENS = 2**18  # sequences x tokens drawn per call
# The n-gram shares `best_ngram_mixture` tries with each way of mixing; 0 keeps the recurrent model alone.
NGRAM_WEIGHTS = tuple(round(0.05 * step, 2) for step in range(20))
NGRAM_MIXINGS = ("linear", "log_linear")
# The ranges of a sampling endpoint's arguments, as model cards state them.
SAMPLING_RANGES = (
    "temperature finite and >= 0 (0: the most likely token), top_k >= 0 (0: all), top_p in [0, 1] (1: all); "
    f"at most {MAX_SAMPLES} samples, the prefix or primer and each sample at most {MAX_SAMPLE_LENGTH} tokens, "
    f"{MAX_SAMPLED_TOKENS} tokens drawn a call; outside these ranges: InvalidArgumentError saying which"
)
# The shared sampler's arguments as every sampling endpoint's signature names them; each task places them
# among its own arguments.
SAMPLER_SPECS = {
    "temperature": tf.TensorSpec([], tf.float32, name="temperature"),
    "top_k": tf.TensorSpec([], tf.int32, name="top_k"),
    "top_p": tf.TensorSpec([], tf.float32, name="top_p"),
    "seed": tf.TensorSpec([], tf.int32, name="seed"),
}


def target_scores(logits, targets):
    """Per row `(batch,)`: natural log P of the targets, the targets scored, and how many were the argmax.

    Args:
        logits: `(batch, time, vocab_size)` next-token logits.
        targets: int `(batch, time)`, right-padded with `PAD_ID`; a padded target is not scored.
    """
    valid = targets != PAD_ID
    target_log_probs = tf.gather(tf.nn.log_softmax(logits), targets, batch_dims=2)
    predicted = tf.argmax(logits, axis=-1, output_type=targets.dtype) == targets
    return (
        tf.reduce_sum(tf.where(valid, target_log_probs, 0.0), axis=1),
        tf.reduce_sum(tf.cast(valid, tf.int32), axis=1),
        tf.reduce_sum(tf.cast(valid & predicted, tf.int32), axis=1),
    )


class RecurrentLanguageModel(keras.Model):
    """Token ids through an embedding and a recurrent stack to a softmax over the next token.

    Id `PAD_ID` (0) pads and never has probability. Ids in `never_sampled` keep the probability the model
    gives them (so every sequence gets a finite score) but sampling never picks them.

    A fixed n-gram model can be mixed in (`with_ngram`), in scoring and sampling alike (a task mixes it into a
    trained model; nothing here trains with it). The next-token distribution is then, with `w = ngram_weight`,
    `(1 - w) * P_recurrent + w * P_ngram` (`ngram_mixing="linear"`), or the normalized
    `P_recurrent ** (1 - w) * P_ngram ** w` (`"log_linear"`). A second one, an n-gram of text outside the
    corpus, can be mixed in beside it at `v = outside_ngram_weight`, by the same mixing:
    `(1 - w - v) * P_recurrent + w * P_ngram + v * P_outside`, or the normalized product of the three with those
    exponents.

    A base class: a subclass creates its own layers after `super().__init__`, then calls `self.build()`, and
    puts the arguments that determine `vocab_size` into its `get_config`.

    Args:
        vocab_size: ids are `0 .. vocab_size - 1`.
        embedding_dim: token embedding size.
        recurrent: the `RecurrentStack`'s `cell`, `hidden_dim`, `num_layers` and `dropout` (the fields of a
            `zoo.config.RecurrentConfig`); the dropout also applies to the embeddings and before the
            output layer.
        never_sampled: ids that sampling never picks besides padding.
        output_name: the name of the output layer.
        ngram: an `NGramTable` over the same ids (or its serialized config), or None.
        ngram_weight: its share of the mixture, in [0, 1).
        ngram_mixing: how it is mixed in, one of `NGRAM_MIXINGS`.
        outside_ngram: a second `NGramTable` over the same ids (or its serialized config), or None.
        outside_ngram_weight: its share of the mixture; the two weights sum to less than 1.

    Call arguments:
        inputs: int `(batch, time)` ids, right-padded with `PAD_ID`.

    Returns:
        Next-token logits `(batch, time, vocab_size)`, `PAD_LOGIT` at `PAD_ID` (with an n-gram mixed in: the
        mixture's log-probabilities, which are its own logits).
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim=32,
        recurrent=None,
        never_sampled=(),
        output_name="next_token",
        ngram=None,
        ngram_weight=0.0,
        ngram_mixing="linear",
        outside_ngram=None,
        outside_ngram_weight=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not (ngram_weight >= 0 and outside_ngram_weight >= 0 and ngram_weight + outside_ngram_weight < 1):
            raise ValueError(
                f"ngram_weight and outside_ngram_weight must be >= 0 and sum to less than 1, got {ngram_weight} "
                f"and {outside_ngram_weight}"
            )
        if ngram_mixing not in NGRAM_MIXINGS:
            raise ValueError(f"ngram_mixing must be one of {NGRAM_MIXINGS}, got {ngram_mixing!r}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.recurrent = dict(recurrent or {})
        self.never_sampled = sorted({PAD_ID, *never_sampled})
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")
        self.stack = RecurrentStack(**self.recurrent, return_sequences=True, return_state=True, name="stack")
        self.dropout_layer = keras.layers.Dropout(self.stack.dropout)
        self.output_layer = keras.layers.Dense(vocab_size, name=output_name)
        self.ngram, self.outside_ngram = (
            keras.saving.deserialize_keras_object(table) if isinstance(table, dict) else table
            for table in (ngram, outside_ngram)
        )
        self.ngram_weight = ngram_weight
        self.ngram_mixing = ngram_mixing
        self.outside_ngram_weight = outside_ngram_weight

    @property
    def ngrams(self):
        """`[(table, weight)]` of the n-grams mixed in, the corpus's first."""
        pairs = ((self.ngram, self.ngram_weight), (self.outside_ngram, self.outside_ngram_weight))
        return [(table, weight) for table, weight in pairs if table is not None]

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.stack.build((None, None, self.embedding_dim))
        self.output_layer.build((None, None, self.stack.output_dim))
        for table, _ in self.ngrams:
            if not table.built:
                table.build((None, None))
        self.built = True

    def _logits(self, outputs, training=None):
        logits = self.output_layer(self.dropout_layer(outputs, training=training))
        return tf.where(tf.range(self.vocab_size) == PAD_ID, PAD_LOGIT, logits)

    def call(self, inputs, training=None):
        embedded = self.dropout_layer(self.embedding(inputs), training=training)
        outputs, *_ = self.stack(embedded, mask=inputs != PAD_ID, training=training)
        logits = self._logits(outputs, training)
        if not self.ngrams:
            return logits
        return mix_ngram(logits, [(table(inputs), weight) for table, weight in self.ngrams], self.ngram_mixing)

    def with_ngram(self, ngram, ngram_weight, ngram_mixing="linear", outside_ngram=None, outside_ngram_weight=0.0):
        """A copy of this model with the n-gram `ngram` (an `NGramTable`, or None for none) mixed in at
        `ngram_weight` by `ngram_mixing`, and `outside_ngram` beside it at `outside_ngram_weight`, and this
        model's recurrent weights."""
        mixed = self.__class__.from_config(
            {
                **self.get_config(),
                "ngram": ngram,
                "ngram_weight": ngram_weight,
                "ngram_mixing": ngram_mixing,
                "outside_ngram": outside_ngram,
                "outside_ngram_weight": outside_ngram_weight,
            }
        )
        for theirs, mine in zip(
            (mixed.embedding, mixed.stack, mixed.output_layer), (self.embedding, self.stack, self.output_layer)
        ):
            theirs.set_weights(mine.get_weights())
        return mixed

    def score_ids(self, inputs, targets):
        """Natural log P of each row's targets given its inputs `(batch,)`, and the targets scored.

        Args:
            inputs, targets: int `(batch, time)`, right-padded with `PAD_ID`; a padded target is not scored.
        """

        def scored():
            log_prob, length, _ = target_scores(self(inputs), targets)
            return log_prob, length

        # A recurrent layer cannot run on a batch of no rows.
        return tf.cond(tf.shape(inputs)[0] > 0, scored, lambda: (tf.zeros([0]), tf.zeros([0], tf.int32)))

    def zero_state(self, batch):
        """The recurrent stack's zero states, and for each n-gram mixed in, its context: `order - 1` start ids."""
        states = self.stack.states_per_layer * self.stack.num_layers
        state = [tf.zeros([batch, self.stack.hidden_dim]) for _ in range(states)]
        for table, _ in self.ngrams:
            state.append(tf.fill([batch, table.order - 1], tf.constant(table.start_id, tf.int32)))
        return state

    def step(self, tokens, state, context=None):
        """One step for `zoo.decoding`: log P(next | token, state) `(n, vocab_size)` and the new state;
        the `never_sampled` ids get no probability."""
        embedded = self.embedding(tokens[:, None])
        recurrent_states = len(state) - len(self.ngrams)
        outputs, *new_state = self.stack(embedded, initial_state=state[:recurrent_states])
        logits = self._logits(outputs[:, 0])
        if self.ngrams:
            contexts = [
                tf.concat([context, tf.cast(tokens[:, None], tf.int32)], axis=1)[:, 1:]
                for context in state[recurrent_states:]
            ]
            components = [(table(context)[:, -1], weight) for (table, weight), context in zip(self.ngrams, contexts)]
            logits = mix_ngram(logits, components, self.ngram_mixing)
            new_state += contexts
        state = new_state
        log_probs = tf.nn.log_softmax(logits)
        unsampled = tf.reduce_any(tf.range(self.vocab_size)[:, None] == self.never_sampled, axis=1)
        return tf.where(unsampled, NEG_INF, log_probs), state

    def sample_ids(self, primer, num_samples, end_id, max_length, seed, temperature=1.0, top_k=0, top_p=1.0):
        """Continues the id sequence `primer` `(time,)` (at least one id) in `num_samples` ways.

        Each sample reads `primer` and then draws up to `max_length` ids, stopping after `end_id` (pass an
        id in `never_sampled` to always draw `max_length`).

        Args:
            num_samples: 0 to `MAX_SAMPLES`; 0 gives no rows.
            max_length: 0 to `MAX_SAMPLE_LENGTH`, and `num_samples * max_length` at most `MAX_SAMPLED_TOKENS`.
            seed: an int; the same seed gives the same samples, in Keras and in the SavedModel.
            temperature, top_k, top_p: as in `zoo.decoding.filter_log_probs`.

        Returns:
            `zoo.decoding.sample`'s dict: `ids (num_samples, max_length)`, `lengths`, `log_prob` of the
            drawn ids under the unfiltered distribution.

        Raises:
            tf.errors.InvalidArgumentError: for sizes or sampling arguments outside their ranges, or a
                primer longer than `MAX_SAMPLE_LENGTH`.
        """
        num_samples, max_length = tf.cast(num_samples, tf.int32), tf.cast(max_length, tf.int32)
        num_samples, max_length, primer = checked(
            [
                (
                    (num_samples >= 0) & (num_samples <= MAX_SAMPLES),
                    [f"the number of samples must be in [0, {MAX_SAMPLES}], got", num_samples],
                ),
                (
                    (max_length >= 0) & (max_length <= MAX_SAMPLE_LENGTH),
                    [f"the tokens to draw per sample must be in [0, {MAX_SAMPLE_LENGTH}], got", max_length],
                ),
                (
                    tf.cast(num_samples, tf.int64) * tf.cast(max_length, tf.int64) <= MAX_SAMPLED_TOKENS,
                    [f"samples x tokens to draw must be at most {MAX_SAMPLED_TOKENS}, got", num_samples, max_length],
                ),
                (
                    tf.size(primer) <= MAX_SAMPLE_LENGTH,
                    [f"a primer is at most {MAX_SAMPLE_LENGTH} tokens, got", tf.size(primer)],
                ),
            ],
            num_samples,
            max_length,
            primer,
        )

        def read(index, state):
            return index + 1, self.step(tf.reshape(primer[index], [1]), state)[1]

        _, state = tf.while_loop(
            lambda index, _: index < tf.size(primer) - 1, read, (tf.constant(0), self.zero_state(1))
        )
        state = [tf.repeat(tensor, num_samples, axis=0) for tensor in state]
        return decoding.sample(
            self.step,
            state,
            (),
            tf.fill([num_samples], primer[-1]),
            end_id,
            max_length,
            tf.stack([tf.cast(seed, tf.int32), 0]),
            temperature,
            top_k,
            top_p,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "recurrent": self.recurrent,
                "ngram": None if self.ngram is None else keras.saving.serialize_keras_object(self.ngram),
                "ngram_weight": self.ngram_weight,
                "ngram_mixing": self.ngram_mixing,
                "outside_ngram": None
                if self.outside_ngram is None
                else keras.saving.serialize_keras_object(self.outside_ngram),
                "outside_ngram_weight": self.outside_ngram_weight,
            }
        )
        return config


def mix_ngram(logits, components, mixing):
    """Next-token log-probabilities `(..., vocab_size)` of n-gram distributions mixed by `mixing` (see
    `RecurrentLanguageModel`) into those of `logits`: `components` are `(probabilities, weight)` pairs, the
    recurrent model's share one minus their weights. `PAD_LOGIT` at `PAD_ID`."""
    padding = tf.range(tf.shape(logits)[-1]) == PAD_ID
    recurrent_weight = 1 - sum(weight for _, weight in components)
    if mixing == "linear":
        mixture = recurrent_weight * tf.nn.softmax(logits)
        for probabilities, weight in components:
            mixture += weight * probabilities
        return tf.where(padding, PAD_LOGIT, tf.math.log(mixture))
    # An n-gram gives every id but padding some probability, so only padding's log is infinite.
    mixture = recurrent_weight * tf.nn.log_softmax(logits)
    for probabilities, weight in components:
        mixture += weight * tf.math.log(probabilities)
    return tf.nn.log_softmax(tf.where(padding, PAD_LOGIT, mixture))


def best_ngram_mixture(model, ngram, batches, weights=NGRAM_WEIGHTS, mixings=NGRAM_MIXINGS, outside_ngrams=()):
    """The mixing of n-grams into `model` (with none mixed in) that gives the fewest bits per token on `batches`
    (`(inputs, targets)` id pairs whose padded targets are `PAD_ID` or below): `ngram` (an `NGramTable`) at one
    of `weights`, and optionally one of `outside_ngrams` beside it at another (the two summing to less than 1),
    by one of `mixings`. A tie goes to no outside n-gram, then to the earlier one at the smaller weight, the earlier
    mixing and the smaller `ngram` weight.

    Returns:
        `(ngram_mixing, ngram_weight, outside_ngram, outside_ngram_weight)`; `(..., None, 0.0)` when no outside
        n-gram helps.
    """
    logits, tables, targets = [], [[] for _ in range(1 + len(outside_ngrams))], []
    for inputs, batch_targets in batches:
        valid = batch_targets > PAD_ID
        logits.append(tf.boolean_mask(model(inputs), valid))
        for rows, table in zip(tables, (ngram, *outside_ngrams)):
            rows.append(tf.boolean_mask(table(inputs), valid))
        targets.append(tf.boolean_mask(batch_targets, valid))
    logits, targets = tf.concat(logits, axis=0), tf.concat(targets, axis=0)
    tables = [tf.concat(rows, axis=0) for rows in tables]

    def bits(mixing, weight, outside, outside_weight):
        components = [(tables[0], weight)] + ([(tables[outside], outside_weight)] if outside_weight else [])
        log_probs = tf.nn.log_softmax(mix_ngram(logits, components, mixing))
        return -float(tf.reduce_mean(tf.gather(log_probs, targets, batch_dims=1))) / math.log(2)

    # Index 0 with weight 0: no outside n-gram.
    outside_choices = [(0, 0.0)] + [(index, share) for index in range(1, len(tables)) for share in weights if share > 0]
    candidates = [
        (mixing, weight, outside, outside_weight)
        for outside, outside_weight in outside_choices
        for mixing in mixings
        for weight in weights
        if weight + outside_weight < 1
    ]
    mixing, weight, outside, outside_weight = candidates[int(np.argmin([bits(*candidate) for candidate in candidates]))]
    return mixing, weight, outside_ngrams[outside - 1] if outside_weight else None, outside_weight


@dataclasses.dataclass
class LanguageModelData(TaskData):
    """`TaskData` of a language-model task, with the n-gram baseline its model is measured against."""

    baseline: Any = None  # the Kneser-Ney n-gram model chosen on validation
    baseline_validation: Any = None  # {order: validation bits per token}

    @classmethod
    def build(cls, splits, make_dataset, vocabulary, config, baseline, /, **fields):
        """The data of `splits`: train and validation batches from `make_dataset(split, vocabulary, config,
        training)`, and `baseline` as `zoo.ngram.best_order` returns it, `(model, {order: validation bits})`;
        `fields` are a subclass's own."""
        model, validation_bits = baseline
        return cls(
            splits,
            make_dataset(splits.train, vocabulary, config, training=True),
            make_dataset(splits.validation, vocabulary, config, training=False),
            baseline=model,
            baseline_validation=validation_bits,
            **fields,
        )


class LanguageModelTask(Task):
    """A task whose model predicts the next token: trained on its cross-entropy (padding ignored), keeping the
    epoch with the lowest validation loss."""

    monitor = "val_loss"
    monitor_mode = "min"

    def loss(self, model):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=text.PAD_LABEL)
