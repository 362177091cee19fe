"""End-to-end export (SavedModel + `.keras` + model card) and loading for apps.

An export directory holds:
    saved_model/      raw inputs in, raw outputs out, through the `serve` endpoint; needs only TensorFlow
    model.keras       the same end-to-end model for Keras users (fine-tuning, inspection)
    model_card.json   task, data, measured test metrics, the exact training command, hyperparameters
    config.json       the resolved run config (`zoo.config`)
"""

import datetime
import json
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

MODELS_DIR_ENV = "ZOO_MODELS_DIR"
CARD = "model_card.json"
SAVED_MODEL = "saved_model"
ENDPOINT = "serve"


def models_dir():
    """`$ZOO_MODELS_DIR`, else the `saved_models/` folder of this checkout."""
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV])
    return Path(__file__).resolve().parents[1] / "saved_models"


def _backup_path(target):
    return target.with_name(f".{target.name}.old")


def _recover(target):
    """Puts back a previous export left aside by an export interrupted between its two renames."""
    backup = _backup_path(target)
    if backup.exists() and not target.exists():
        os.replace(backup, target)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_atomically(target, write):
    """Calls `write(tmp_dir)` and then swaps `tmp_dir` into `target`.

    If `write` fails or the process dies during it, `target` keeps the previous export untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    backup = _backup_path(target)
    if target.exists():
        os.replace(target, backup)
    os.replace(tmp, target)
    shutil.rmtree(backup, ignore_errors=True)
    return target


class BrokenExport(ValueError):
    """An export directory that cannot be used: a file missing, truncated or altered, or unsafe to load."""


def versions():
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def export_model(target, model, endpoints, card, config, files=None):
    """Exports an end-to-end Keras `model` to `target` atomically.

    Args:
        model: the Keras model that is exported; saved as `model.keras` and tracked by the SavedModel.
        endpoints: `{name: (function, input_signature)}`, the SavedModel's signatures; `serve` (raw
            inputs -> dict of raw outputs) is required, others (e.g. one taking decoding options)
            may sit beside it.
        card: model card fields (task, data, metrics, command, examples, ...); versions and the
            export date are added here.
        config: the resolved run config, written as `config.json`.
        files: `{file name: bytes}` written beside the SavedModel.
    """
    import tensorflow as tf

    if ENDPOINT not in endpoints:
        raise ValueError(f"an export needs a {ENDPOINT!r} endpoint, got {sorted(endpoints)}")
    card = dict(card, versions=versions(), exported=datetime.datetime.now(datetime.timezone.utc).isoformat())

    def write(directory):
        # A plain tf.Module rather than keras.export.ExportArchive, which (Keras 3.15) writes every
        # variable twice: once as the Keras variable and once as the tf.Variable the endpoint captures.
        module = tf.Module()
        module.model = model
        signatures = {}
        for name, (function, input_signature) in endpoints.items():
            setattr(module, name, tf.function(function, input_signature=input_signature))
            signatures[name] = getattr(module, name)
        tf.saved_model.save(module, str(directory / SAVED_MODEL), signatures=signatures)
        model.save(directory / "model.keras")
        config.write(directory / "config.json")
        (directory / CARD).write_text(json.dumps(card, indent=2) + "\n")
        for name, content in (files or {}).items():
            (directory / name).write_bytes(content)

    return write_atomically(target, write)


def _to_python(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_to_python(item) for item in value]
    return value


class Predictor:
    """Runs an exported model on raw inputs with nothing but TensorFlow.

    `predict(inputs)` takes a list of raw inputs (or one) and returns one dict of outputs per input.
    Outputs the model card lists under `sequence_outputs` (`{length_key: [keys]}`) are cut to
    each input's own length.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = Path(path)
        self.card = read_card(self.path)
        check_versions(self.card, self.path)
        try:
            self.saved_model = tf.saved_model.load(str(self.path / SAVED_MODEL))
        except Exception as error:  # TensorFlow raises a different type per damaged file
            raise BrokenExport(
                f"{self.path}: its SavedModel cannot be loaded, so the export is incomplete or altered "
                f"({type(error).__name__}: {_first_line(error)}). Export it again or restore it from version control."
            ) from error
        if ENDPOINT not in self.saved_model.signatures:
            raise BrokenExport(
                f"{self.path}: the SavedModel has no {ENDPOINT!r} signature; it is not an export of this zoo"
            )
        self._serve = getattr(self.saved_model, ENDPOINT)

    @property
    def name(self):
        return self.path.name

    def endpoints(self):
        """The names of the export's signatures (`serve` and any others)."""
        return sorted(self.saved_model.signatures)

    def input_spec(self):
        """The `tf.TensorSpec` of `serve`'s one input: its dtype and shape say what raw inputs the model takes
        (strings of text, integer seeds, float audio samples)."""
        _, inputs = self.saved_model.signatures[ENDPOINT].structured_input_signature
        (spec,) = inputs.values()
        return spec

    def predict(self, inputs, endpoint=ENDPOINT, **options):
        """Outputs for `inputs`; `endpoint` names another signature of the export (its model card
        lists them) and `options` are its further arguments, e.g. `beam_width=8`."""
        import tensorflow as tf

        single = isinstance(inputs, (str, bytes))
        batch = [inputs] if single else list(inputs)
        if not batch:
            return []
        function = self._serve if endpoint == ENDPOINT else getattr(self.saved_model, endpoint)
        outputs = function(tf.constant(batch), **options)
        outputs = {key: value.numpy() for key, value in outputs.items()}
        rows = [{key: _to_python(value[index]) for key, value in outputs.items()} for index in range(len(batch))]
        cut_to_lengths(rows, self.card)
        return rows[0] if single else rows

    __call__ = predict


def cut_to_lengths(rows, card):
    """Cuts each row's variable-length outputs, which come padded to their batch's longest, to the row's own
    length: the outputs the model card lists under `sequence_outputs` (`{length_key: [keys]}`). In place."""
    for length_key, keys in card.get("sequence_outputs", {}).items():
        for row in rows:
            for key in keys:
                row[key] = row[key][: row[length_key]]
    return rows


def _first_line(error):
    return (str(error).strip().splitlines() or [""])[0][:300]


def read_card(path):
    """The model card of the export at `path`, or `BrokenExport` when it is not readable JSON."""
    try:
        card = json.loads((Path(path) / CARD).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BrokenExport(f"{path}: {CARD} is not readable ({_first_line(error)}); the export is damaged") from error
    if not isinstance(card, dict):
        raise BrokenExport(f"{path}: {CARD} does not hold a model card")
    return card


def update_card(path, fields):
    """Sets `fields` in the model card of the export at `path`, replacing the file in one step."""
    card = {**read_card(path), **fields}
    partial = Path(path) / f".{CARD}.tmp"
    partial.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(partial, Path(path) / CARD)
    return card


def check_versions(card, path=""):
    """Warns when the export was made with another TensorFlow or Keras release than the one installed.

    SavedModels load across releases, but ops and layers may change behaviour between them; the warning says
    what to do if the outputs no longer match the card.
    """
    installed = versions()
    for package in ("tensorflow", "keras"):
        exported = card.get("versions", {}).get(package)
        if exported and exported.split(".")[:2] != installed[package].split(".")[:2]:
            warnings.warn(
                f"{path or card.get('name', 'this model')} was exported with {package} {exported} and runs on "
                f"{installed[package]}. If its outputs differ from its model card's, install {package}=={exported} "
                f"or export it again with this release (python -m tasks.{card.get('task', '<task>')}.train --reexport).",
                stacklevel=3,
            )


def load_keras(name_or_path):
    """The Keras model (`model.keras`) of an export, loaded with Keras's `safe_mode`: a file holding Python
    code (a `Lambda` layer) is refused with `BrokenExport`, never run."""
    import keras

    path = resolve(name_or_path)
    check_versions(read_card(path), path)
    try:
        return keras.saving.load_model(path / "model.keras", safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            raise BrokenExport(
                f"{path}/model.keras holds Python code (a Lambda layer), which Keras's safe_mode refuses to run. "
                "Load it only if you trust where it came from: keras.saving.load_model(path, safe_mode=False)."
            ) from error
        raise BrokenExport(f"{path}/model.keras cannot be loaded ({_first_line(error)})") from error
    except Exception as error:  # a truncated zip, a missing file, a config naming an unknown class
        raise BrokenExport(
            f"{path}/model.keras cannot be loaded ({type(error).__name__}: {_first_line(error)})"
        ) from error


def available():
    """Names of the exported models in `models_dir()`."""
    directory = models_dir()
    if not directory.is_dir():
        return []
    return sorted(path.parent.name for path in directory.glob(f"*/{CARD}") if not path.parent.name.startswith("."))


def resolve(name_or_path):
    """The export directory `name_or_path` names: a directory itself, or a model in `models_dir()`.

    Where an export was killed between moving the previous export aside and moving the new one in, it is the
    previous one, until the next export puts it back.
    """
    path = Path(name_or_path)
    named = models_dir() / str(name_or_path)
    for candidate in (path, named):
        if (candidate / CARD).is_file():
            return candidate
        if not candidate.exists() and (_backup_path(candidate) / CARD).is_file():
            return _backup_path(candidate)
    if path.is_dir():
        raise FileNotFoundError(
            f"{path} is not an export: it has no {CARD} (an export holds {SAVED_MODEL}/, model.keras, {CARD} "
            "and config.json, as python -m tasks.<name>.train writes them)"
        )
    raise FileNotFoundError(
        f"No exported model at {name_or_path!r} or {named}. Available: {', '.join(available()) or 'none'}"
    )


def load(name_or_path):
    """A `Predictor` for an export directory, or for a model name in `models_dir()`."""
    return Predictor(resolve(name_or_path))
