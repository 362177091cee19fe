"""Seeding, distribution strategy, optimizer and a resumable fit loop shared by every task."""

import contextlib
import csv
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

BEST_WEIGHTS = "checkpoints/best.weights.h5"
BACKUP = "backup"  # Keras' BackupAndRestore directory, there while a run is unfinished
HISTORY = "history.csv"
TRAINING_TIME = "training_time.json"


def set_seed(seed):
    """Seeds Python, NumPy and TensorFlow so a run can be repeated."""
    keras.utils.set_random_seed(seed)


def get_strategy(name):
    """`default`: the current device. `mirrored`: synchronous data parallelism over every local GPU,
    or every logical CPU device when there is no GPU. `multi_worker`: the same over every worker that
    the standard `TF_CONFIG` environment variable names (`tf.distribute.MultiWorkerMirroredStrategy`),
    each running the same command; without `TF_CONFIG` it is an error."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                'strategy multi_worker needs TF_CONFIG, e.g. TF_CONFIG=\'{"cluster": {"worker": '
                '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\' '
                "on the first machine and index 1 on the second"
            )
        _patch_keras_for_multi_worker()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}")


def local_cluster(count):
    """`TF_CONFIG` values for `count` workers of one cluster on this machine (free ports on 127.0.0.1), the
    i-th for the i-th process; on several machines each names the machines' addresses instead."""
    ports = []
    for _ in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}) for index in range(count)]


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """Whether this process writes the run's results: always, except for the workers of a multi-worker
    cluster other than its chief (the `chief` task, or worker 0 when the cluster names none)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def worker_dir(workdir, strategy):
    """Where this process keeps its run: `workdir` for the chief; for another worker of a multi-worker
    cluster its own `workdir/worker-<index>`, which holds its backup (so that it resumes with the others)
    and nothing the chief publishes."""
    if is_chief(strategy):
        return Path(workdir)
    resolver = strategy.cluster_resolver
    return Path(workdir) / f"{resolver.task_type}-{resolver.task_id}"


def _patch_keras_for_multi_worker():
    """Keras 3.15's `fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585): it reduces
    each step's scalar logs with `strategy.reduce("MEAN", value, axis=0)`, which a scalar has no axis for.
    This reduces them over no axis, as it does for one worker. `_prepare_multi_worker_fit` works around
    the other half of that bug."""
    reduce_per_replica = keras_tf_trainer.reduce_per_replica
    if getattr(reduce_per_replica, "zoo_patched", False):
        return

    def reduce_scalars_over_workers(values, strategy, reduction="auto"):
        if reduction == "auto" and keras_tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    reduce_scalars_over_workers.zoo_patched = True
    keras_tf_trainer.reduce_per_replica = reduce_scalars_over_workers


def _prepare_multi_worker_fit(model, train_data, strategy):
    """Keras builds a model's metrics by reducing a distributed batch eagerly across workers, which fails
    under `MultiWorkerMirroredStrategy` (keras-team/keras#20585). Building them here from one local batch
    and letting the model take its strategy from the scope `fit` runs in avoids it; evaluation and
    export after `fit` then run on this worker alone."""
    with strategy.scope():
        model._symbolic_build(data_batch=next(iter(train_data)))
    model._distribute_strategy = None


def build_optimizer(config, model, decay_steps=0):
    """AdamW as an `OptimizerConfig` describes it, for `model`'s variables.

    Gradients are clipped to a global norm. With `cosine_decay` and `decay_steps` (the steps of the whole
    run), the learning rate follows a cosine from `learning_rate` down to a tenth of it. Unless
    `decay_all_weights`, weight decay skips variables of rank 0 or 1 (biases, normalization scales and
    offsets) and embedding tables. With `ema_momentum > 0` the weights evaluated, checkpointed and
    exported are the moving average (see `fit`), which generalizes better than the last step's on
    small corpora.
    """
    learning_rate = config.learning_rate
    if config.cosine_decay and decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.1)
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate,
        weight_decay=config.weight_decay,
        global_clipnorm=config.clipnorm or None,
        use_ema=config.ema_momentum > 0,
        ema_momentum=config.ema_momentum or 0.99,
    )
    if config.weight_decay and not config.decay_all_weights:
        optimizer.exclude_from_weight_decay(var_list=weights_without_decay(model))
    return optimizer


def weights_without_decay(model):
    """The variables weight decay leaves alone: every one of rank 0 or 1, and embedding tables (Keras
    names them `embeddings`)."""
    return [weight for weight in model.trainable_weights if len(weight.shape) <= 1 or weight.name == "embeddings"]


def start_run(config, workdir=None):
    """Creates the run directory (`workdir`, default `config.out_dir`), writes the resolved config
    there as `config.json`, and seeds everything from `config.seed`. Returns the directory."""
    workdir = Path(workdir or config.out_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    config.write(workdir / "config.json")
    set_seed(config.seed)
    return workdir


class _TrainingClock(keras.callbacks.Callback):
    """Writes the seconds spent training, over every call of a resumed run, after each epoch."""

    def __init__(self, path, previous_seconds):
        super().__init__()
        self.path, self.previous_seconds = path, previous_seconds

    def on_train_begin(self, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.previous_seconds + time.time() - self.started
        self.path.write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")


class _ValidationScores(keras.callbacks.Callback):
    """Adds `score()`'s `{name: number}` to each epoch's logs as `val_<name>`, and prints them."""

    def __init__(self, score):
        super().__init__()
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        scores = {f"val_{name}": float(value) for name, value in self.score().items()}
        logs.update(scores)
        print(f"epoch {epoch + 1}: " + ", ".join(f"{name} {value:.4g}" for name, value in scores.items()))


def training_seconds(workdir):
    """The seconds a run in `workdir` has spent training, over all its calls (0 before its first epoch)."""
    path = Path(workdir) / TRAINING_TIME
    return json.loads(path.read_text())["seconds"] if path.exists() else 0.0


def _history_rows(workdir):
    """The rows of the epochs a run in `workdir` has logged, over all its calls."""
    history_path = Path(workdir) / HISTORY
    if not history_path.exists():
        return []
    with open(history_path, newline="") as handle:
        return list(csv.DictReader(handle))


def finished(workdir, epochs, resume):
    """Whether a run in `workdir` that is resumed has already finished all `epochs`, so that `fit` only loads
    its best epoch."""
    # Keras deletes the backup when training ends, so a finished run would otherwise start over.
    return bool(resume) and not (Path(workdir) / BACKUP).exists() and epochs_logged(workdir) >= epochs


def epochs_logged(workdir):
    """How many distinct epochs a run in `workdir` has finished, over all its calls."""
    return len({row["epoch"] for row in _history_rows(workdir)})


def _best_logged(workdir, monitor, mode="max"):
    """The best (`mode`: `"max"` or `"min"`) `monitor` value of the epochs logged so far, or None."""
    values = [float(row[monitor]) for row in _history_rows(workdir) if row.get(monitor)]
    return (max if mode == "max" else min)(values, default=None)


def fit(
    model,
    train_data,
    validation_data,
    epochs,
    workdir,
    monitor,
    resume=False,
    callbacks=(),
    validation_scores=None,
    mode="max",
    strategy=None,
):
    """Fits `model`, keeping the best epoch by `monitor` on the validation data, and loads it back.

    Each finished epoch is backed up under `workdir/backup`; a later call with `resume=True` continues
    from the last finished epoch (or, when every epoch has finished, only loads the best one), and without
    it starts over. Writes TensorBoard logs to `workdir/logs` and one CSV row per epoch to
    `workdir/history.csv`.

    Args:
        monitor: the validation metric that picks the best epoch, e.g. `"val_accuracy"`.
        mode: `"max"` when a higher `monitor` is better, `"min"` when lower is (e.g. `"val_loss"`).
        callbacks: extra Keras callbacks, run after the built-in ones.
        strategy: the `tf.distribute` strategy the model was built under, when it is `multi_worker`
            (which Keras cannot fit without `_prepare_multi_worker_fit`).
        validation_scores: a function of no arguments returning `{name: number}` on the validation data,
            for metrics Keras cannot compute batch by batch (entity F1, BLEU, event F1). It runs after
            every epoch on the weights that are checkpointed (the moving average, if any), and its scores
            join the epoch's logs as `val_<name>` before checkpointing and logging, so `monitor` may name
            them.

    Returns:
        The `keras.callbacks.History` of this call (only the epochs it ran).
    """
    workdir = Path(workdir)
    backup_dir = workdir / BACKUP
    if finished(workdir, epochs, resume):
        model.load_weights(str(workdir / BEST_WEIGHTS))
        history = keras.callbacks.History()
        history.on_train_begin()
        return history
    if not resume:
        shutil.rmtree(backup_dir, ignore_errors=True)
        (workdir / HISTORY).unlink(missing_ok=True)
        (workdir / TRAINING_TIME).unlink(missing_ok=True)
    (workdir / BEST_WEIGHTS).parent.mkdir(parents=True, exist_ok=True)
    # Keras' BackupAndRestore leaves the epoch it restored on the model, and any later `fit` of the same model
    # (the main stage after a resumed pretraining) would start there; this fit's own backup sets it again.
    model._initial_epoch = None

    built_in = [
        # A second copy of the backup, for a kill in the middle of writing the first.
        keras.callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True),
        _TrainingClock(workdir / TRAINING_TIME, training_seconds(workdir)),
    ]
    if getattr(model.optimizer, "use_ema", False):
        # Validation and the best checkpoint see the averaged weights; the backup keeps the raw ones.
        built_in.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if validation_scores is not None:
        built_in.append(_ValidationScores(validation_scores))
    built_in += [
        keras.callbacks.ModelCheckpoint(
            str(workdir / BEST_WEIGHTS),
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
            # A resumed run only replaces the best checkpoint with a better epoch than those before.
            initial_value_threshold=_best_logged(workdir, monitor, mode),
        ),
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / HISTORY), append=True),
    ]
    multi_worker = strategy is not None and is_multi_worker(strategy)
    if multi_worker:
        _prepare_multi_worker_fit(model, train_data, strategy)
    with strategy.scope() if multi_worker else contextlib.nullcontext():
        history = model.fit(
            train_data,
            validation_data=validation_data,
            epochs=epochs,
            shuffle=False,  # the datasets shuffle themselves
            callbacks=built_in + list(callbacks),
            verbose=1 if sys.stdout.isatty() else 2,
        )
    best = workdir / BEST_WEIGHTS
    if best.exists():
        model.load_weights(str(best))
    return history
