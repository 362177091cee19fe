"""Shared training helpers: optimizer, batch counting, strategies, resume bookkeeping."""

import numpy as np
import pytest

from zoo import training


def test_optimizer_clipping_decay_and_ema():
    optimizer = training.make_optimizer(1e-3, clipnorm=1.0, weight_decay=0.01, ema_momentum=0.9, decay_steps=100)
    assert optimizer.global_clipnorm == 1.0 and optimizer.use_ema and optimizer.ema_momentum == 0.9
    schedule = optimizer._learning_rate
    np.testing.assert_allclose([float(schedule(0)), float(schedule(100))], [1e-3, 1e-4], rtol=1e-5)
    plain = training.make_optimizer(1e-3)
    assert plain.global_clipnorm is None and not plain.use_ema
    assert float(plain.learning_rate) == pytest.approx(1e-3)


def test_strategies():
    assert training.get_strategy("default").num_replicas_in_sync == 1
    assert training.get_strategy("mirrored").num_replicas_in_sync >= 1
    with pytest.raises(ValueError, match="Unknown strategy"):
        training.get_strategy("tpu")


def test_resumed_fit_only_keeps_a_better_checkpoint(tmp_path):
    history = tmp_path / training.HISTORY
    assert training._best_logged(history, "val_accuracy") is None
    history.write_text("epoch,loss,val_accuracy\n0,0.6,0.81\n1,0.4,0.86\n2,0.3,0.84\n")
    assert training._best_logged(history, "val_accuracy") == 0.86
