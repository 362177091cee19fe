"""Typed, nested run configurations: the sections every task shares, and the task's own fields beside them.

A task's config is a `RunConfig` subclass. Its own fields (model sizes, vocabulary limits, ...) sit at
the top level; what the tasks have in common sits in sections:

    data:       DataConfig       where the data comes from and how it is batched
    optimizer:  OptimizerConfig  learning rate, clipping, weight decay, schedule, moving average
    export:     ExportConfig     where the end-to-end model is written
    recurrent:  RecurrentConfig  the model's recurrent stack, in tasks that have one
    augment:    AugmentConfig    training-time changes to spectrogram frames, in audio tasks
    split:      SplitConfig      the shares held out for validation and test, in tasks that split their data

A field typed `Literal[...]` takes one of the listed values; a config with another value does not
construct. Every field name is unique across the whole tree, so a field is addressed by its name alone
(`batch_size`) or by its path (`data.batch_size`): the flags, presets and `from_dict` accept both.
"""

import dataclasses
import json
import typing
from pathlib import Path
from typing import Literal

from zoo.layers.recurrent_stack import CELLS

STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclasses.dataclass
class DataConfig:
    """Where the data comes from and how it is batched.

    Attributes:
        data_dir: local data directory, searched before `$ZOO_DATA_DIR` and the library download.
        batch_size: global batch size (split across replicas under `mirrored`).
        max_examples: use at most this many examples of each split (smoke runs); 0 means all.
        num_buckets: length buckets for batching; 1 pads every batch to its longest example.
    """

    data_dir: str | None = None
    batch_size: int = 64
    max_examples: int = 0
    num_buckets: int = 8

    def __post_init__(self):
        for name in ("batch_size", "num_buckets"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclasses.dataclass
class OptimizerConfig:
    """AdamW with global-norm clipping, an optional cosine schedule and an optional weight average.

    The defaults are the recipe that trained the zoo's recurrent models: a peak rate of 2e-3, clipping
    at norm 5 against exploding gradients, cosine decay and an exponential moving average of the weights.

    Attributes:
        learning_rate: peak learning rate.
        clipnorm: clip the gradients to this global norm; 0 disables clipping.
        weight_decay: decoupled (AdamW) weight decay.
        decay_all_weights: decay every variable; by default biases, normalization scales and offsets
            (every variable of rank 0 or 1) and embedding tables are left out, as Model Garden and
            nanoGPT do: shrinking them regularizes nothing useful.
        cosine_decay: decay the learning rate along a cosine to a tenth of it over the whole run.
        ema_momentum: momentum of the moving average of the weights that is evaluated, checkpointed
            and exported; 0 disables it.
    """

    learning_rate: float = 2e-3
    clipnorm: float = 5.0
    weight_decay: float = 0.0
    decay_all_weights: bool = False
    cosine_decay: bool = True
    ema_momentum: float = 0.99

    def __post_init__(self):
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.ema_momentum < 1:
            raise ValueError(f"ema_momentum must be in [0, 1), got {self.ema_momentum}")


@dataclasses.dataclass
class ExportConfig:
    """Where the end-to-end model is exported.

    Attributes:
        export_dir: the export directory; default `<out_dir>/export`.
    """

    export_dir: str = ""


@dataclasses.dataclass
class RecurrentConfig:
    """The recurrent stack of a task's model: `RecurrentStack(**dataclasses.asdict(config.recurrent), ...)`.

    Attributes:
        cell: `lstm`, `gru` or `simple`.
        hidden_dim: recurrent units per layer (per direction when bidirectional).
        num_layers: stacked recurrent layers.
        dropout: dropout between the recurrent layers; tasks also apply it around the stack (their
            docstrings say where).
    """

    cell: Literal[tuple(CELLS)] = "lstm"
    hidden_dim: int = 128
    num_layers: int = 1
    dropout: float = 0.0


@dataclasses.dataclass
class AugmentConfig:
    """Training-time `SpectrogramAugment` of a model's log-mel frames:
    `SpectrogramAugment(**dataclasses.asdict(config.augment))`; 0 and 0 leave the frames as they are.

    Attributes:
        mel_warp: largest relative stretch of the mel axis (vocal tract length perturbation).
        frequency_masks: frequency bands masked per example (SpecAugment).
        frequency_mask_bins: widest masked band, in bins.
    """

    mel_warp: float = 0.0
    frequency_masks: int = 0
    frequency_mask_bins: int = 6

    def __post_init__(self):
        if not 0 <= self.mel_warp < 1:
            raise ValueError(f"mel_warp must be in [0, 1), got {self.mel_warp}")
        for name in ("frequency_masks", "frequency_mask_bins"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")


@dataclasses.dataclass
class SplitConfig:
    """How a task that splits its own data (rather than reading given splits) holds some of it out.

    Attributes:
        validation_fraction: share of the examples held out for epoch selection.
        test_fraction: share held out for the test metrics.
    """

    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self):
        for name in ("validation_fraction", "test_fraction"):
            if not 0 < getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5), got {getattr(self, name)}")


# A task config holds the sections its fields name; `recurrent` only where the task has one stack, `augment`
# only where it reads spectrograms, `split` only where it splits its data itself.
SECTIONS = {
    "data": DataConfig,
    "optimizer": OptimizerConfig,
    "export": ExportConfig,
    "recurrent": RecurrentConfig,
    "augment": AugmentConfig,
    "split": SplitConfig,
}


@dataclasses.dataclass
class RunConfig:
    """A training run: the run-level fields, the shared sections, and (in subclasses) the task's fields.

    Attributes:
        out_dir: where checkpoints, logs, metrics and the export are written; default
            `runs/<export name>` (`runs/ner`, `runs/translation-dates`, ...).
        epochs: training epochs.
        seed: seeds Python, NumPy, TensorFlow and data shuffling.
        resume: continue an interrupted run in `out_dir` from its last finished epoch.
        strategy: `default` (one device), `mirrored` (every local GPU or logical device) or `multi_worker`
            (every worker `TF_CONFIG` names, each running the same command).
        data, optimizer, export: the shared sections (see their classes); tasks with one recurrent
            stack add `recurrent`.
    """

    out_dir: str = ""
    epochs: int = 10
    seed: int = 0
    resume: bool = False
    strategy: Literal[STRATEGIES] = "default"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    def __post_init__(self):
        for name, field in leaf_fields(type(self)).items():
            allowed = choices(field)
            value = self.value(name)
            if allowed and value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
            rule = field.metadata.get("rule")
            if rule and not rule(value):
                raise ValueError(f"{name} must be {field.metadata['expectation']}, got {value!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")

    def value(self, path):
        """The value of the field at `path` (`"epochs"`, `"data.batch_size"`)."""
        section, _, name = path.rpartition(".")
        return getattr(getattr(self, section) if section else self, name)

    def to_dict(self):
        return dataclasses.asdict(self)

    def write(self, path):
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def checked(default, rule, expectation):
    """A config field whose value must satisfy `rule`: a `RunConfig` holding one that does not raises
    `ValueError("<name> must be <expectation>, got <value>")`, as it does for a value outside a `Literal`."""
    return dataclasses.field(default=default, metadata={"rule": rule, "expectation": expectation})


def at_least(default, minimum, unit=""):
    """A `checked` field whose value must be `minimum` or more; `unit` names what is counted in the error."""
    return checked(default, lambda value: value >= minimum, f"at least {minimum} {unit}".rstrip())


def section_defaults(section, **values):
    """A dataclass field whose default is `section` (a class in `SECTIONS`) with `values` changed,
    for a task config that needs other defaults than the section's own."""
    return dataclasses.field(default_factory=lambda: section(**values))


def choices(field):
    """The values a `Literal[...]` field allows, or None for any value of its type."""
    return typing.get_args(field.type) if typing.get_origin(field.type) is Literal else None


def field_type(field):
    """A field's type: `X | None` read as `X`, a `Literal` as its values' type."""
    if choices(field):
        return type(choices(field)[0])
    arguments = [argument for argument in typing.get_args(field.type) if argument is not type(None)]
    return arguments[0] if arguments else field.type


def leaf_fields(config_cls):
    """`{path: field}` of every field that holds a value, sections unfolded: `"epochs"`, `"data.batch_size"`."""
    fields = {}
    for field in dataclasses.fields(config_cls):
        if field.name in SECTIONS:
            fields.update({f"{field.name}.{leaf.name}": leaf for leaf in dataclasses.fields(SECTIONS[field.name])})
        else:
            fields[field.name] = field
    return fields


def field_paths(config_cls):
    """`{name: path}`: each leaf field's short name and its path; names are unique by design."""
    paths = {}
    for path in leaf_fields(config_cls):
        name = path.rsplit(".", 1)[-1]
        if name in paths:
            raise TypeError(f"{config_cls.__name__}: field name {name!r} is used twice ({paths[name]}, {path})")
        paths[name] = path
    return paths


def from_dict(config_cls, values):
    """A `config_cls` from nested values (as `to_dict` writes them), from flat names or paths, or a mix.

    Unknown names are an error, so a misspelt field never passes silently.
    """
    paths = field_paths(config_cls)
    top, sections = {}, {name: {} for name in SECTIONS}
    for key, value in values.items():
        if key in SECTIONS and isinstance(value, dict):
            for name, inner in value.items():
                sections[key][_section_field(config_cls, f"{key}.{name}", paths)] = inner
            continue
        path = paths.get(key, key)
        if path not in paths.values():
            raise ValueError(f"{config_cls.__name__} has no field {key!r}")
        section, _, name = path.rpartition(".")
        (sections[section] if section else top)[name] = value
    for section, section_values in sections.items():
        if section_values:
            default = next(f for f in dataclasses.fields(config_cls) if f.name == section).default_factory()
            top[section] = dataclasses.replace(default, **section_values)
    return config_cls(**top)


def _section_field(config_cls, path, paths):
    if path not in paths.values():
        raise ValueError(f"{config_cls.__name__} has no field {path!r}")
    return path.rsplit(".", 1)[-1]
