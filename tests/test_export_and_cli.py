"""Atomic export, loading errors (missing, damaged and unsafe exports) and the config-to-flags convention."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from zoo import export, flags
from zoo.config import DataConfig, OptimizerConfig, RunConfig, SplitConfig, from_dict, section_defaults


def _write(text):
    def write(directory):
        (directory / "weights.txt").write_text(text)

    return write


def _failing_write(directory):
    (directory / "weights.txt").write_text("half written")
    raise RuntimeError("disk full")


def test_failed_export_keeps_the_previous_one(tmp_path):
    target = tmp_path / "model"
    export.write_atomically(target, _write("v1"))
    with pytest.raises(RuntimeError, match="disk full"):
        export.write_atomically(target, _failing_write)
    assert (target / "weights.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    export.write_atomically(target, _write("v2"))
    assert (target / "weights.txt").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_export_interrupted_between_renames_is_recovered(tmp_path):
    """A process killed after moving the old export aside but before moving the new one in."""
    target = tmp_path / "model"
    export.write_atomically(target, _write("v1"))
    (target / export.CARD).write_text("{}")
    target.rename(tmp_path / ".model.old")
    (tmp_path / ".model.tmp-dead").mkdir()
    assert export.resolve(target) == tmp_path / ".model.old"  # loadable meanwhile
    with pytest.raises(RuntimeError):
        export.write_atomically(target, _failing_write)
    assert (target / "weights.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_load_unknown_model_lists_what_exists(tmp_path, monkeypatch):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / export.CARD).write_text("{}")
    monkeypatch.setenv(export.MODELS_DIR_ENV, str(tmp_path))
    assert export.available() == ["other"]
    with pytest.raises(FileNotFoundError, match="Available: other"):
        export.load("missing")


@pytest.fixture
def dinos_copy(tmp_path):
    """A copy of the smallest shipped export, to damage."""
    source = ROOT / "saved_models" / "dinos"
    if not (source / export.CARD).is_file():
        pytest.skip("needs saved_models/dinos")
    return Path(shutil.copytree(source, tmp_path / "dinos"))


def test_a_directory_that_is_not_an_export_is_named_as_such(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not an export: it has no model_card.json"):
        export.load(tmp_path)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_middle_bytes(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(255 - byte for byte in data[middle : middle + 16])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: _truncate(d / "saved_model" / "saved_model.pb"),
        lambda d: _truncate(d / "saved_model" / "variables" / "variables.data-00000-of-00001"),
        lambda d: _flip_middle_bytes(d / "saved_model" / "variables" / "variables.data-00000-of-00001"),
        lambda d: shutil.rmtree(d / "saved_model" / "variables"),
        lambda d: (d / export.CARD).write_text('{"task": "char_lm", "name": '),
    ],
    ids=["truncated graph", "truncated variables", "altered variables", "missing variables", "truncated card"],
)
def test_a_damaged_export_is_a_clear_error(dinos_copy, damage):
    damage(dinos_copy)
    with pytest.raises(export.BrokenExport, match="dinos"):
        export.load(dinos_copy)


def test_model_keras_with_python_code_is_refused(dinos_copy):
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(dinos_copy / "model.keras")
    with pytest.raises(export.BrokenExport, match="safe_mode"):
        export.load_keras(dinos_copy)
    _truncate(dinos_copy / "model.keras")
    with pytest.raises(export.BrokenExport, match="model.keras cannot be loaded"):
        export.load_keras(dinos_copy)


def test_an_export_from_another_release_loads_with_a_warning_that_says_what_to_do(dinos_copy):
    card = json.loads((dinos_copy / export.CARD).read_text())
    card["versions"]["tensorflow"] = "2.15.1"
    (dinos_copy / export.CARD).write_text(json.dumps(card))
    with pytest.warns(UserWarning, match=r"exported with tensorflow 2.15.1 .* install tensorflow==2.15.1"):
        predictor = export.load(dinos_copy)
    assert predictor.predict("tyrannosaurus")["log_prob"] < 0


@dataclasses.dataclass
class _Config(RunConfig):
    hidden_dim: int = 8
    cell: str = "lstm"
    data: DataConfig = section_defaults(DataConfig, batch_size=16)


_PRESETS = {"tiny": {"hidden_dim": 2, "epochs": 1, "optimizer.learning_rate": 0.5}}


def test_parse_config_defaults_presets_and_overrides():
    assert flags.parse_config(_Config, _PRESETS, []) == _Config()
    assert _Config().data.batch_size == 16 and RunConfig().data.batch_size == 64
    config = flags.parse_config(
        _Config,
        _PRESETS,
        ["--preset", "tiny", "--epochs", "3", "--cell", "gru", "--resume", "--data-dir", "/data"],
    )
    assert (config.hidden_dim, config.epochs, config.cell, config.resume) == (2, 3, "gru", True)
    assert (config.optimizer.learning_rate, config.data.data_dir, config.data.batch_size) == (0.5, "/data", 16)


def test_section_flags_answer_to_name_and_path():
    flat = flags.parse_config(_Config, _PRESETS, ["--learning-rate", "0.01", "--no-decay-all-weights"])
    dotted = flags.parse_config(
        _Config, _PRESETS, ["--optimizer.learning-rate", "0.01", "--no-optimizer.decay-all-weights"]
    )
    assert flat == dotted
    assert flat.optimizer.learning_rate == 0.01 and flat.optimizer.decay_all_weights is False


def test_from_dict_reads_nested_flat_and_dotted_values():
    config = _Config(epochs=2, optimizer=OptimizerConfig(learning_rate=0.1, weight_decay=0.01))
    assert from_dict(_Config, config.to_dict()) == config
    assert from_dict(_Config, {"epochs": 2, "learning_rate": 0.1, "optimizer.weight_decay": 0.01}) == config
    with pytest.raises(ValueError, match="no field 'hiden_dim'"):
        from_dict(_Config, {"hiden_dim": 4})
    with pytest.raises(ValueError, match="no field 'optimizer.batch_size'"):
        from_dict(_Config, {"optimizer": {"batch_size": 4}})


def test_field_names_must_be_unique_across_sections():
    @dataclasses.dataclass
    class Clashing(RunConfig):
        batch_size: int = 3

    with pytest.raises(TypeError, match="used twice"):
        flags.build_parser(Clashing, {})


def test_parse_config_rejects_bad_values():
    with pytest.raises(ValueError, match="strategy"):
        flags.parse_config(_Config, _PRESETS, ["--strategy", "tpu"])
    with pytest.raises(ValueError, match="epochs"):
        flags.parse_config(_Config, _PRESETS, ["--epochs", "0"])
    with pytest.raises(ValueError, match="batch_size"):
        flags.parse_config(_Config, _PRESETS, ["--batch-size", "0"])
    with pytest.raises(SystemExit):
        flags.parse_config(_Config, _PRESETS, ["--hidden-dim", "many"])


def test_split_section_takes_fractions_between_zero_and_a_half():
    @dataclasses.dataclass
    class Splitting(RunConfig):
        split: SplitConfig = dataclasses.field(default_factory=SplitConfig)

    presets = {"default": {}}
    assert flags.parse_config(Splitting, presets, ["--test-fraction", "0.2"]).split.test_fraction == 0.2
    for flag in ("--validation-fraction", "--split.test-fraction"):
        with pytest.raises(ValueError, match="fraction must be in"):
            flags.parse_config(Splitting, presets, [flag, "0.5"])


def test_command_line_is_quoted():
    assert flags.command_line("tasks.x.train", ["--out-dir", "a b"]) == "python -m tasks.x.train --out-dir 'a b'"


def test_zoo_command_line_unknown_model_is_a_clear_error(tmp_path):
    env = {**os.environ, export.MODELS_DIR_ENV: str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", "missing", "text"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"No exported model at 'missing' or {tmp_path / 'missing'}. Available: none"
    )
