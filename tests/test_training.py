"""Shared training helpers: optimizer, batch counting, strategies, resume bookkeeping."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.killed_training import InterruptAfterEpoch, SimulatedKill
from zoo import training
from zoo.config import OptimizerConfig


def _model():
    inputs = keras.Input((3,), dtype="int32")
    hidden = keras.layers.Embedding(10, 4)(inputs)
    hidden = keras.layers.LayerNormalization()(hidden)
    return keras.Model(inputs, keras.layers.Dense(2)(hidden))


def test_optimizer_clipping_schedule_and_ema():
    config = OptimizerConfig(learning_rate=1e-3, clipnorm=1.0, ema_momentum=0.9)
    optimizer = training.build_optimizer(config, _model(), decay_steps=100)
    assert optimizer.global_clipnorm == 1.0 and optimizer.use_ema and optimizer.ema_momentum == 0.9
    schedule = optimizer._learning_rate
    np.testing.assert_allclose([float(schedule(0)), float(schedule(100))], [1e-3, 1e-4], rtol=1e-5)
    plain = training.build_optimizer(
        OptimizerConfig(learning_rate=1e-3, clipnorm=0, cosine_decay=False, ema_momentum=0), _model()
    )
    assert plain.global_clipnorm is None and not plain.use_ema
    assert float(plain.learning_rate) == pytest.approx(1e-3)


@pytest.mark.parametrize("decay_all_weights", [False, True])
def test_weight_decay_skips_biases_norms_and_embeddings(decay_all_weights):
    model = _model()
    model.compile(
        optimizer=training.build_optimizer(
            OptimizerConfig(
                learning_rate=0.1, clipnorm=0, weight_decay=0.5, decay_all_weights=decay_all_weights, ema_momentum=0
            ),
            model,
        )
    )
    for weight in model.trainable_weights:  # biases and offsets start at zero, which decay leaves unchanged
        weight.assign(keras.ops.ones(weight.shape))
    before = {weight.path: weight.numpy() for weight in model.trainable_weights}
    # Zero gradients leave Adam's step at zero: every change to a weight comes from weight decay alone.
    model.optimizer.apply([keras.ops.zeros_like(weight) for weight in model.trainable_weights], model.trainable_weights)
    decayed = {
        weight.path for weight in model.trainable_weights if not np.allclose(weight.numpy(), before[weight.path])
    }
    expected = {weight.path for weight in model.trainable_weights}
    if not decay_all_weights:
        expected = {
            weight.path for weight in model.trainable_weights if len(weight.shape) == 2 and weight.name != "embeddings"
        }
    assert decayed == expected


def test_strategies():
    assert training.get_strategy("default").num_replicas_in_sync == 1
    assert training.get_strategy("mirrored").num_replicas_in_sync >= 1
    with pytest.raises(ValueError, match="Unknown strategy"):
        training.get_strategy("tpu")


def test_resumed_fit_only_keeps_a_better_checkpoint(tmp_path):
    history = tmp_path / training.HISTORY
    assert training._best_logged(tmp_path, "val_accuracy") is None
    history.write_text("epoch,loss,val_accuracy\n0,0.6,0.81\n1,0.4,0.86\n2,0.3,0.84\n")
    assert training._best_logged(tmp_path, "val_accuracy") == 0.86


def test_resuming_a_finished_fit_trains_nothing_and_loads_the_best_epoch(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x[:, :1] > 0)).batch(16)

    def compiled():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy")
        return model

    first = compiled()
    assert len(training.fit(first, data, data, 3, tmp_path, "val_loss", False, mode="min").epoch) == 3
    seconds = training.training_seconds(tmp_path)
    assert seconds > 0
    again = compiled()
    assert training.fit(again, data, data, 3, tmp_path, "val_loss", True, mode="min").epoch == []
    for expected, actual in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(expected, actual)
    assert training.epochs_logged(tmp_path) == 3 and training.training_seconds(tmp_path) == seconds
    # Starting over forgets the old run's epochs and time.
    (tmp_path / training.TRAINING_TIME).write_text('{"seconds": 1000000.0}')
    training.fit(compiled(), data, data, 1, tmp_path, "val_loss", False, mode="min")
    assert training.epochs_logged(tmp_path) == 1 and training.training_seconds(tmp_path) < 1000000.0


def test_a_second_fit_of_a_model_resumed_from_a_backup_runs_all_its_epochs(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x[:, :1] > 0)).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    with pytest.raises(SimulatedKill):
        training.fit(model, data, data, 3, tmp_path / "first", "val_loss", False, [InterruptAfterEpoch(1)], mode="min")
    # As a resumed pretraining then the main stage: the first stage's last epoch, then all of the second's.
    assert training.fit(model, data, data, 3, tmp_path / "first", "val_loss", True, mode="min").epoch == [2]
    assert training.fit(model, data, data, 3, tmp_path / "second", "val_loss", True, mode="min").epoch == [0, 1, 2]


def test_validation_scores_are_logged_and_pick_the_epoch_kept(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x[:, :1] > 0)).batch(16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    scores, weights = iter([0.2, 0.9, 0.5]), []
    recorder = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))

    training.fit(
        model,
        data,
        data,
        3,
        tmp_path,
        "val_quality",
        callbacks=[recorder],
        validation_scores=lambda: {"quality": next(scores)},
    )

    assert [row["val_quality"] for row in training._history_rows(tmp_path)] == ["0.2", "0.9", "0.5"]
    assert "epoch 2: val_quality 0.9" in capsys.readouterr().out
    for kept, actual in zip(weights[1], model.get_weights()):
        np.testing.assert_array_equal(kept, actual)
