"""One runner for every task: config -> data -> model -> (pretraining) -> fit -> evaluate -> metrics.json -> model
card -> export.

A task's `train.py` is its entry point and nothing more:

    train_and_evaluate, main = runner.entry_points(SentimentTask)

`train_and_evaluate(config, workdir)` is what tests call with a tiny config; `main(argv)` is
`python -m tasks.<name>.train [flags]`, which also re-scores an existing export with `--evaluate DIR`.
"""

import dataclasses
import json
import math

from zoo import export, flags, training
from zoo.config import from_dict

SPLITS = ("validation", "test")
PRETRAINING_DIR = "pretraining"  # the pretraining stage's run directory, inside the run's


def train_and_evaluate(task, workdir=None, callbacks=(), command=None):
    """Trains `task`'s model (after its pretraining stage, if `task.pretraining` gives one, in
    `workdir/pretraining`), keeps the best epoch by `task.monitor`, evaluates the model that is exported
    on validation and test, writes `metrics.json` and the model card, and exports atomically.

    Args:
        task: a `zoo.task.Task` holding its config.
        workdir: run directory; defaults to `config.out_dir`, itself defaulting to `runs/<export name>`.
        callbacks: extra Keras callbacks for `fit` (tests use them to interrupt a run).
        command: the command line recorded in the model card.

    With `strategy: multi_worker`, every worker runs this with the same config; only the chief evaluates and
    writes the metrics, the card and the export (see `training.is_chief`, `training.worker_dir`).

    Returns:
        The metrics dict written to `workdir/metrics.json` (on a worker other than the chief, only the epochs
        run and the replicas).
    """
    config = task.config
    config.out_dir = config.out_dir or f"runs/{task.export_name}"
    # A multi-worker strategy has to exist before the run's first TensorFlow operation.
    strategy = training.get_strategy(config.strategy)
    workdir = training.start_run(config, training.worker_dir(workdir or config.out_dir, strategy))
    with strategy.scope():
        data = task.build_data()
        model = task.build_model(data)
    pretraining = task.pretraining(data)
    if pretraining:
        _pretrain(task, model, data, pretraining, workdir / PRETRAINING_DIR, strategy)
    with strategy.scope():
        decay_steps = int(data.train.cardinality()) * config.epochs
        model.compile(
            optimizer=training.build_optimizer(config.optimizer, model, decay_steps),
            loss=task.loss(model),
            metrics=task.metrics(),
        )
    training.fit(
        model,
        data.train,
        data.validation,
        config.epochs,
        workdir,
        task.monitor,
        config.resume,
        callbacks,
        validation_scores=task.validation_scorer(model, data),
        mode=task.monitor_mode,
        strategy=strategy,
    )
    training_time = training.training_seconds(workdir)
    if not training.is_chief(strategy):
        # The chief evaluates and publishes the run; this worker's part ended with the last synchronized step.
        return {"epochs_run": training.epochs_logged(workdir), "replicas": strategy.num_replicas_in_sync}

    inference = task.inference_model(model, data)
    evaluations = {split: task.evaluate(inference, data, split) for split in SPLITS}
    metrics = {
        "test": evaluations["test"].metrics,
        "validation": evaluations["validation"].metrics,
        "split_sizes": data.splits.sizes(),
        "epochs_run": training.epochs_logged(workdir),
        "replicas": strategy.num_replicas_in_sync,
        "training_time_s": training_time,
        "parameters": inference.count_params(),
    }
    if pretraining:
        metrics["pretraining_epochs_run"] = training.epochs_logged(workdir / PRETRAINING_DIR)
        metrics["pretraining_time_s"] = training.training_seconds(workdir / PRETRAINING_DIR)
    if evaluations["test"].details:
        metrics["test_details"] = evaluations["test"].details
    (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    card = {
        "task": task.name,
        "name": task.export_name,
        **task.card(inference, data, evaluations["test"]),
        "test_metrics": metrics["test"],
        "validation_metrics": metrics["validation"],
        "split_sizes": metrics["split_sizes"],
        "command": command or flags.command_line(f"tasks.{task.name}.train"),
        "hyperparameters": config.to_dict(),
        "training_time_s": training_time,
        **({"pretraining_time_s": metrics["pretraining_time_s"]} if pretraining else {}),
        "parameters": metrics["parameters"],
    }
    target = config.export.export_dir or workdir / "export"
    export.export_model(
        target, inference, task.endpoints(inference, data), card, config, task.export_files(inference, data)
    )
    return metrics


def _pretrain(task, model, data, pretraining, workdir, strategy):
    """Fits `model` on `pretraining.train()` in its own run directory (so it resumes like the main stage),
    keeping the epoch with the lowest validation loss. A resumed run that finished it only loads that epoch,
    without building the batches (a minute for a million sequences)."""
    if training.finished(workdir, pretraining.epochs, task.config.resume):
        model.load_weights(str(workdir / training.BEST_WEIGHTS))
        return
    batches = pretraining.train()
    optimizer_config = dataclasses.replace(task.config.optimizer, learning_rate=pretraining.learning_rate)
    with strategy.scope():
        decay_steps = int(batches.cardinality()) * pretraining.epochs
        model.compile(optimizer=training.build_optimizer(optimizer_config, model, decay_steps), loss=task.loss(model))
    training.fit(
        model,
        batches,
        data.validation,
        pretraining.epochs,
        workdir,
        "val_loss",
        task.config.resume,
        mode="min",
        strategy=strategy,
    )


def _from_export(task_class, export_dir, data_dir):
    """`(task, data, model)` rebuilt from an export's `config.json` and `model.keras`."""
    values = json.loads((export_dir / "config.json").read_text())
    config = from_dict(task_class.config_class, values)
    if data_dir:
        config.data.data_dir = str(data_dir)
    task = task_class(config)
    return task, task.build_data(), export.load_keras(export_dir)


def evaluate_export(task_class, export_dir, data_dir=None):
    """Re-scores an export's `model.keras` on the validation and test splits its `config.json` names.

    Returns:
        `{split: Evaluation}`, to compare with the export's model card.
    """
    task, data, model = _from_export(task_class, export.resolve(export_dir), data_dir)
    return {split: task.evaluate(model, data, split) for split in SPLITS}


# The card fields that describe the export's interface, which a re-export refreshes; the rest are measurements.
INTERFACE_FIELDS = ("inputs", "outputs", "endpoints", "sequence_outputs", "examples", "example")


def reexport(task_class, export_dir, data_dir=None):
    """Rebuilds an export in place from its own `model.keras` and `config.json` with the current task code, e.g.
    to add an endpoint or bound an input: the same weights, so the card's measurements stand, which the test
    split is scored again to check; its interface fields are refreshed, and the fields the task's card has come
    to describe since (e.g. a new measurement of the same test split) are added.
    """
    export_dir = export.resolve(export_dir)
    task, data, model = _from_export(task_class, export_dir, data_dir)
    card = export.read_card(export_dir)
    test = task.evaluate(model, data, "test")
    recorded = card.get("test_metrics", {})
    changed = {
        name: (value, recorded[name])
        for name, value in test.metrics.items()
        if name in recorded and not math.isclose(value, recorded[name], rel_tol=1e-4, abs_tol=1e-6)
    }
    if changed:
        raise ValueError(f"{export_dir}: not re-exported, its test metrics (now, card) changed: {changed}")
    described = task.card(model, data, test)
    card.update({field: value for field, value in described.items() if field in INTERFACE_FIELDS or field not in card})
    card["export_note"] = (
        f"re-exported from its model.keras by `python -m tasks.{task.name}.train --reexport {export_dir.name}`: "
        "the same weights, so the test metrics above stand"
    )
    export.export_model(
        export_dir, model, task.endpoints(model, data), card, task.config, task.export_files(model, data)
    )


def entry_points(task_class):
    """`(train_and_evaluate(config, workdir=None, callbacks=(), command=None), main(argv=None))` for a task."""

    def train_and_evaluate_config(config, workdir=None, callbacks=(), command=None):
        return train_and_evaluate(task_class(config), workdir, callbacks, command)

    def main(argv=None):
        parser = flags.build_parser(task_class.config_class, task_class.presets)
        parser.add_argument(
            "--evaluate",
            metavar="EXPORT",
            help="instead of training, re-score an export (a directory or a name in saved_models/) on validation "
            "and test, and print its metrics beside its model card's",
        )
        parser.add_argument(
            "--reexport",
            metavar="EXPORT",
            help="instead of training, rebuild an export from its model.keras with the current code (new endpoints)",
        )
        args = parser.parse_args(argv)
        if args.reexport:
            reexport(task_class, args.reexport, args.data_dir)
            return
        if args.evaluate:
            _print_evaluation(task_class, args.evaluate, args.data_dir)
            return
        config = flags.config_from_args(task_class.config_class, task_class.presets, args)
        metrics = train_and_evaluate(
            task_class(config), command=flags.command_line(f"tasks.{task_class.name}.train", argv)
        )
        print(json.dumps({key: value for key, value in metrics.items() if key != "test_details"}, indent=2))

    return train_and_evaluate_config, main


def _print_evaluation(task_class, export_dir, data_dir):
    export_dir = export.resolve(export_dir)
    card = export.read_card(export_dir)
    evaluations = evaluate_export(task_class, export_dir, data_dir)
    for split, evaluation in evaluations.items():
        recorded = card.get(f"{split}_metrics", {})
        for name, value in evaluation.metrics.items():
            print(f"{split} {name}: {value:.6f} (card: {recorded.get(name, 'absent')})")
