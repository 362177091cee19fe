"""Linear-chain conditional random field: sequence log-likelihood and Viterbi decoding."""

import keras
import tensorflow as tf


def _lengths_and_mask(emissions, mask):
    """Per-row lengths and the equivalent right-padded mask; no mask means every step is real."""
    batch, time = tf.shape(emissions)[0], tf.shape(emissions)[1]
    if mask is None:
        lengths = tf.fill([batch], time)
    else:
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    return lengths, tf.sequence_mask(lengths, time)


@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    """A linear-chain CRF over per-step tag scores, as in Lample et al. (2016).

    A tag path `y` of a sequence with emissions `e` scores
    `start[y_0] + sum_t e[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_last]`.
    Calling the layer decodes the best path (Viterbi); `log_likelihood` gives the training
    objective, `log P(y | e)`, normalized over all paths by the forward algorithm. Both run in
    the graph (`tf.function`, SavedModel) for any batch and length.

    Args:
        num_tags: the number of tags `K`.

    Call arguments:
        emissions: float `(batch, time, K)`, unnormalized per-step tag scores.
        mask: optional boolean `(batch, time)`, right-padded (True steps first). Usually propagated
            from an `Embedding(mask_zero=True)`.

    Returns:
        int32 `(batch, time)`: the highest-scoring tag path, 0 at masked steps.
    """

    def __init__(self, num_tags, **kwargs):
        super().__init__(**kwargs)
        if num_tags < 1:
            raise ValueError(f"num_tags must be at least 1, got {num_tags}")
        self.num_tags = num_tags
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] != self.num_tags:
            raise ValueError(f"CRF with {self.num_tags} tags got emissions of shape {input_shape}")
        initializer = keras.initializers.RandomUniform(-0.1, 0.1)
        self.transitions = self.add_weight(
            shape=(self.num_tags, self.num_tags), initializer=initializer, name="transitions"
        )
        self.start_transitions = self.add_weight(shape=(self.num_tags,), initializer=initializer, name="start")
        self.end_transitions = self.add_weight(shape=(self.num_tags,), initializer=initializer, name="end")

    def log_likelihood(self, emissions, tags, mask=None):
        """`log P(tags | emissions)` of each sequence, `(batch,)`; 0 for sequences with no real step.

        Args:
            emissions: float `(batch, time, K)`.
            tags: int `(batch, time)`, the gold path; values at masked steps are ignored.
            mask: optional boolean `(batch, time)`, right-padded.
        """
        emissions = tf.cast(emissions, self.transitions.dtype)
        tags = tf.cast(tags, tf.int32)
        lengths, mask = _lengths_and_mask(emissions, mask)
        tags = tf.where(mask, tags, 0)
        steps = tf.cast(mask, emissions.dtype)

        path_emissions = tf.reduce_sum(tf.gather(emissions, tags, batch_dims=2) * steps, axis=1)
        pairs = tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1)
        path_transitions = tf.reduce_sum(tf.gather_nd(self.transitions, pairs) * steps[:, 1:], axis=1)
        last_tags = tf.gather(tags, tf.maximum(lengths - 1, 0), batch_dims=1)
        path_score = (
            tf.gather(self.start_transitions, tags[:, 0])
            + path_emissions
            + path_transitions
            + tf.gather(self.end_transitions, last_tags)
        )

        def forward(alpha, step):
            emission, real = step
            scores = tf.reduce_logsumexp(alpha[:, :, None] + self.transitions[None], axis=1) + emission
            return tf.where(real[:, None], scores, alpha)

        by_time = tf.transpose(emissions, [1, 0, 2])
        alpha = tf.foldl(
            forward,
            (by_time[1:], tf.transpose(mask)[1:]),
            initializer=self.start_transitions[None] + by_time[0],
        )
        log_partition = tf.reduce_logsumexp(alpha + self.end_transitions[None], axis=1)
        return tf.where(lengths > 0, path_score - log_partition, 0.0)

    def call(self, emissions, mask=None):
        emissions = tf.cast(emissions, self.transitions.dtype)
        lengths, _ = _lengths_and_mask(emissions, mask)
        time = tf.shape(emissions)[1]
        # Two extra masked steps keep both scans non-empty for inputs of zero or one step:
        # TensorFlow cannot stack an empty list of tensors whose batch size is unknown.
        emissions = tf.pad(emissions, [[0, 0], [0, 2], [0, 0]])
        mask = tf.sequence_mask(lengths, time + 2)
        by_time = tf.transpose(emissions, [1, 0, 2])
        stay = tf.range(self.num_tags)[None]

        def step(carry, inputs):
            scores, _ = carry
            emission, real = inputs
            candidates = scores[:, :, None] + self.transitions[None]
            best_previous = tf.argmax(candidates, axis=1, output_type=tf.int32)
            new_scores = tf.reduce_max(candidates, axis=1) + emission
            # A masked step keeps its scores and points each tag back to itself.
            return (
                tf.where(real[:, None], new_scores, scores),
                tf.where(real[:, None], best_previous, tf.broadcast_to(stay, tf.shape(best_previous))),
            )

        first_scores = self.start_transitions[None] + by_time[0]
        scores, back_pointers = tf.scan(
            step,
            (by_time[1:], tf.transpose(mask)[1:]),
            initializer=(first_scores, tf.zeros_like(first_scores, tf.int32)),
        )
        final_scores = tf.concat([first_scores[None], scores], axis=0)[-1] + self.end_transitions[None]
        last_tags = tf.argmax(final_scores, axis=1, output_type=tf.int32)
        earlier_tags = tf.scan(
            lambda following, pointers: tf.gather(pointers, following, batch_dims=1),
            back_pointers,
            initializer=last_tags,
            reverse=True,
        )
        tags = tf.transpose(tf.concat([earlier_tags, last_tags[None]], axis=0))
        return tf.where(mask, tags, 0)[:, :time]

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(emissions.shape[:-1], dtype="int32")

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}


class CRFLoss(keras.losses.Loss):
    """Negative CRF log-likelihood of the gold tags, averaged over sequences.

    `y_true` is int `(batch, time)` with -1 at padding; `y_pred` the emissions fed to `crf`.

    The model compiled with it must track `crf` (e.g. `model.crf = crf` when the CRF is not in its
    graph), or the transitions are never trained. It holds the layer, so it is not serializable:
    compile again after loading a model.

    Args:
        crf: the model's `CRF` layer, whose transition weights the loss trains.
    """

    def __init__(self, crf, name="crf_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.crf = crf

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The likelihood scores whole sequences with padding excluded; the per-step mask Keras
        # attaches to `y_pred` would re-weight them by length, so it is dropped here.
        return super().__call__(y_true, tf.identity(y_pred), sample_weight)

    def call(self, y_true, y_pred):
        tags = tf.cast(y_true, tf.int32)
        return -self.crf.log_likelihood(y_pred, tf.maximum(tags, 0), tags >= 0)
