"""The melody model, end to end: a condition (and a primer) in, melody events out; or events in, their scores."""

import dataclasses

import keras
import tensorflow as tf

from tasks.music.data import END_ID, FIRST_CONDITION_ID, PAD_ID, events_to_ids, ids_to_events
from zoo.language_model import RecurrentLanguageModel


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
            primer: MelodyRNN events `(time,)` to continue (e.g. a MIDI file's first bars); may be empty.
            condition: the corpus or performer to play like; unknown or empty: the corpus.
            seed: an int; the same seed gives the same melodies, in Keras and in the SavedModel.
            temperature, top_k, top_p: as in `zoo.decoding.filter_log_probs`.

        Returns:
            `{"events": int32 (num_solos, len(primer) + num_events), "log_prob": (num_solos,)}`, the
            log-probability of the sampled events.
        """
        primer = tf.reshape(tf.convert_to_tensor(primer, tf.int32), [-1])
        condition = self.condition_ids(tf.reshape(tf.convert_to_tensor(condition, tf.string), [1]))
        start = tf.concat([condition, events_to_ids(primer)], axis=0)
        result = self.sample_ids(start, num_solos, END_ID, num_events, seed, temperature, top_k, top_p)
        primed = tf.repeat(primer[None], num_solos, axis=0)
        return {"events": tf.concat([primed, ids_to_events(result["ids"])], axis=1), "log_prob": result["log_prob"]}

    def score(self, events, lengths, conditions):
        """Natural log P(events, then the end) of each melody `(batch,)`, and the events scored (end included).

        Args:
            events: int `(batch, time)` MelodyRNN events, each row's first `lengths` ones real.
            conditions: the condition name of each row.
        """
        lengths = tf.cast(lengths, tf.int32)
        ids = tf.where(tf.sequence_mask(lengths, tf.shape(events)[1]), events_to_ids(events), PAD_ID)
        targets = tf.tensor_scatter_nd_update(
            tf.pad(ids, [[0, 0], [0, 1]]),
            tf.stack([tf.range(tf.shape(events)[0]), lengths], axis=1),
            tf.fill(tf.shape(lengths), END_ID),
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
