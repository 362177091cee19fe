"""The `Task` protocol: what one task supplies, so that one runner (`zoo.runner`) trains, evaluates and exports
every task the same way (compare TensorFlow Model Garden's `official/core/base_task.py`).

A task is its config dataclass (a `zoo.config.RunConfig`), its data, its model and a `Task` subclass
that ties them together. The runner calls, in order:

    build_data -> build_model -> pretraining -> loss, metrics -> validation_scorer -> (fit)
    -> inference_model -> evaluate("validation"), evaluate("test") -> endpoints, export_files -> card -> (export)

and owns everything around those calls: the run directory, seeding, the distribution strategy, the
optimizer, the timed fit with checkpoints and resume, `metrics.json`, the model card and the atomic export.
"""

import dataclasses
from typing import Any, ClassVar, NamedTuple


@dataclasses.dataclass
class TaskData:
    """What `Task.build_data` returns; a task subclasses it to carry more (a vocabulary, a vectorizer).

    Attributes:
        splits: the raw examples, a `data_pipelines.splits.Splits`; `evaluate` reads its test split.
        train: batched training data, `(inputs, targets)`, with a known number of batches.
        validation: batched validation data in the same form, for the per-epoch validation loss.
    """

    splits: Any
    train: Any
    validation: Any


class Evaluation(NamedTuple):
    """What `Task.evaluate` returns.

    Attributes:
        metrics: `{name: number}`, the split's headline metrics (the model card's `test_metrics`).
        details: anything else worth keeping (per-class scores, timings, counts), JSON-serializable.
    """

    metrics: dict
    details: dict = {}


class Pretraining(NamedTuple):
    """What `Task.pretraining` returns: a first stage of training on other data, before the task's own.

    Attributes:
        train: a function of no arguments returning batched `(inputs, targets)` in the task's own form, with a
            known number of batches; the runner calls it only when the stage has epochs left to run.
        epochs: passes over those batches; the epoch with the lowest loss on the task's validation data is kept.
        learning_rate: the peak learning rate of this stage (the rest of the optimizer is the task's).
    """

    train: Any
    epochs: int
    learning_rate: float


class Task:
    """One task's pieces. Subclasses set the class attributes and implement the methods without defaults.

    Class attributes:
        name: the task's folder under `tasks/` (`python -m tasks.<name>.train`).
        config_class: the task's `RunConfig` subclass.
        presets: `{preset name: {field: value}}` for `--preset`; `tiny` is the seconds-long smoke run.
        monitor: the validation metric (a key of the epoch logs) whose best epoch is kept.
        monitor_mode: `"max"` (default) when a higher `monitor` is better, `"min"` when lower is.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    presets: ClassVar[dict]
    monitor: ClassVar[str]
    monitor_mode: ClassVar[str] = "max"

    def __init__(self, config):
        self.config = config

    @property
    def export_name(self):
        """The model's name in `saved_models/` and in its card."""
        return self.name

    def build_data(self):
        """A `TaskData` (or subclass). Runs under the distribution strategy's scope."""
        raise NotImplementedError

    def build_model(self, data):
        """The Keras model `fit` trains. Runs under the distribution strategy's scope."""
        raise NotImplementedError

    def pretraining(self, data):
        """A `Pretraining` the runner fits `model` on before the task's own training data (then with a fresh
        optimizer), or None (the default) for none."""
        return None

    def loss(self, model):
        """The training loss for `model`'s outputs."""
        raise NotImplementedError

    def metrics(self):
        """Keras metrics computed batch by batch in `fit` (and on the validation data)."""
        return []

    def validation_scorer(self, model, data):
        """A function of no arguments that scores `model` on the validation data with metrics Keras cannot
        compute batch by batch (entity F1, BLEU, event F1), `{name: number}`; `fit` calls it after every
        epoch and logs its scores as `val_<name>`, so `monitor` may name them. None (the default) adds none."""
        return None

    def inference_model(self, model, data):
        """The model that is evaluated and exported, with the trained weights: by default an uncompiled copy
        of `model`, so the export carries no optimizer state."""
        copy = model.__class__.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        return copy

    def evaluate(self, inference_model, data, split):
        """An `Evaluation` of `inference_model` on `data.splits`'s `split` (`"validation"` or `"test"`)."""
        raise NotImplementedError

    def endpoints(self, inference_model, data):
        """The SavedModel's signatures, `{name: (function, input_signature)}`; `serve` is required: raw
        inputs in, a dict of raw outputs out."""
        raise NotImplementedError

    def export_files(self, inference_model, data):
        """Files written into the export beside the SavedModel, `{file name: bytes}` (e.g. a TensorFlow
        Lite model); none by default."""
        return {}

    def card(self, inference_model, data, test):
        """The model-card fields of `inference_model`, the model exported (description, data, how it was
        evaluated, inputs, outputs, examples, ...), given its test `Evaluation`; the runner adds the metrics,
        the command, the hyperparameters, the training time and the versions."""
        raise NotImplementedError
