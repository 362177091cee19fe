"""The melody model, end to end: a condition (and a primer) in, melody events out; or events in, their scores."""

import dataclasses

import keras
import tensorflow as tf

from tasks.music.data import END_ID, FIRST_CONDITION_ID, PAD_ID, events_to_ids, ids_to_events
from zoo.checks import checked
from zoo.language_model import RecurrentLanguageModel

MAX_SCORED_EVENTS = 16_384  # per melody, 1,024 4/4 bars: bounds the time and memory of one `score` call


@keras.saving.register_keras_serializable(package="zoo")
class MelodyModel(RecurrentLanguageModel):
    """Melody events through a `RecurrentLanguageModel`, each piece started by its condition's id.

    Ids are `tasks.music.data`'s: padding, the end of a piece, `NOTE_OFF`, `HOLD`, the pitches, then one
    per condition. Conditions and the end are scored but never sampled, so a generated melody always has
    the events asked for.

    Args:
        conditions: condition names in id order; the first (the corpus) stands for every unknown one.
        embedding_dim, recurrent: as in `RecurrentLanguageModel`.

    Call arguments:
        inputs: int `(batch, time)` ids, a condition id first, right-padded with `PAD_ID`.

    Returns:
        Next-event logits `(batch, time, vocab_size)`.
    """

    def __init__(self, conditions, embedding_dim=64, recurrent=None, **kwargs):
        conditions = list(conditions)
        super().__init__(
            FIRST_CONDITION_ID + len(conditions),
            embedding_dim,
            recurrent,
            never_sampled=[END_ID, *range(FIRST_CONDITION_ID, FIRST_CONDITION_ID + len(conditions))],
            output_name="next_event",
            **kwargs,
        )
        self.conditions = conditions
        self.build()

    def condition_ids(self, conditions):
        """Condition names `(batch,)` -> ids; unknown names get the first condition's."""
        # A handful of names: comparing with each is simpler than a lookup table and needs no asset.
        matches = tf.equal(conditions[:, None], tf.constant(self.conditions)[None])
        index = tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)  # 0 where nothing matches
        return FIRST_CONDITION_ID + index

    def generate(self, num_events, temperature=1.0, top_k=0, top_p=1.0, seed=0, primer=(), condition="", num_solos=1):
        """`num_solos` melodies of `primer` followed by `num_events` sampled events.

        Args:
            num_events: 0 to `zoo.language_model.MAX_SAMPLE_LENGTH` (0: the primer alone).
            num_solos: 0 to `zoo.language_model.MAX_SAMPLES` (0: no rows), and `num_solos * num_events` at most
                `zoo.language_model.MAX_SAMPLED_TOKENS`.
            primer: MelodyRNN events `(time,)` to continue (e.g. a MIDI file's first bars); may be empty. Read as
                `events_to_ids` reads them: pitches out of range folded by octaves, other negative events `HOLD`.
            condition: the corpus or performer to play like; unknown or empty: the corpus.
            seed: an int; the same seed gives the same melodies, in Keras and in the SavedModel.
            temperature, top_k, top_p: as in `zoo.decoding.filter_log_probs`.

        Returns:
            `{"events": int32 (num_solos, len(primer) + num_events), "log_prob": (num_solos,)}`: the primer as
            the model read it, then the sampled events; the log-probability of the sampled events.

        Raises:
            tf.errors.InvalidArgumentError: for an argument outside the ranges above.
        """
        primer_ids = events_to_ids(tf.reshape(tf.convert_to_tensor(primer, tf.int32), [-1]))
        condition = self.condition_ids(tf.reshape(tf.convert_to_tensor(condition, tf.string), [1]))
        start = tf.concat([condition, primer_ids], axis=0)
        result = self.sample_ids(start, num_solos, END_ID, num_events, seed, temperature, top_k, top_p)
        primed = tf.repeat(ids_to_events(primer_ids)[None], tf.shape(result["ids"])[0], axis=0)
        return {"events": tf.concat([primed, ids_to_events(result["ids"])], axis=1), "log_prob": result["log_prob"]}

    def score(self, events, lengths, conditions):
        """Natural log P(events, then the end) of each melody `(batch,)`, and the events scored (end included).

        Args:
            events: int `(batch, time)` MelodyRNN events, each row's first `lengths` ones real, read as
                `events_to_ids` reads them; `time` at most `MAX_SCORED_EVENTS`.
            lengths: int `(batch,)`, each in `[0, time]`.
            conditions: the condition name of each row `(batch,)`.

        Raises:
            tf.errors.InvalidArgumentError: for lengths out of range, `time` over `MAX_SCORED_EVENTS`, or
                arguments of different batch sizes.
        """
        events, lengths, conditions = (
            tf.convert_to_tensor(events, tf.int32),
            tf.convert_to_tensor(lengths, tf.int32),
            tf.convert_to_tensor(conditions, tf.string),
        )
        batch, width = tf.shape(events)[0], tf.shape(events)[1]
        events, lengths, conditions = checked(
            [
                (
                    (tf.size(lengths) == batch) & (tf.size(conditions) == batch),
                    [
                        "events, lengths and conditions must have one row each per melody, got",
                        batch,
                        tf.size(lengths),
                        tf.size(conditions),
                    ],
                ),
                (
                    tf.reduce_all((lengths >= 0) & (lengths <= width)),
                    ["each length must be in [0, the number of events], got", lengths, width],
                ),
                (width <= MAX_SCORED_EVENTS, [f"a melody is at most {MAX_SCORED_EVENTS} events, got", width]),
            ],
            events,
            lengths,
            conditions,
        )
        ids = tf.where(tf.sequence_mask(lengths, width), events_to_ids(events), PAD_ID)
        targets = tf.tensor_scatter_nd_update(
            tf.pad(ids, [[0, 0], [0, 1]]), tf.stack([tf.range(batch), lengths], axis=1), tf.fill([batch], END_ID)
        )
        inputs = tf.concat([self.condition_ids(conditions)[:, None], ids], axis=1)
        return self.score_ids(inputs, targets)

    def get_config(self):
        config = super().get_config()
        config["conditions"] = self.conditions
        return config


def build_melody_model(config, conditions):
    """A `MelodyModel` sized by a `MusicConfig`."""
    return MelodyModel(
        conditions,
        embedding_dim=config.embedding_dim,
        recurrent=dataclasses.asdict(config.recurrent),
        name="melody_model",
    )
