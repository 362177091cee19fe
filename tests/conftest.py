import fcntl
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items):
    """The files marked `starts_first` come first, in a stable order: with the test files shared out to
    processes in collection order, a file that takes minutes would otherwise start last and leave the other
    processes waiting for it."""
    items.sort(key=lambda item: item.get_closest_marker("starts_first") is None)


def assert_each_weight_stored_once(export_dir):
    """The SavedModel's variables are exactly the `.keras` model's weights: no copies, no optimizer state."""
    import keras
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(export_dir / "saved_model" / "variables" / "variables"))
    stored = [key for key in reader.get_variable_to_shape_map() if key.endswith("VARIABLE_VALUE")]
    assert len(stored) == len(keras.saving.load_model(export_dir / "model.keras").weights)


@pytest.fixture(scope="session")
def data_dir():
    """The real data sets (`$ZOO_DATA_DIR`); tests that need them skip when it is not set."""
    path = os.environ.get("ZOO_DATA_DIR")
    if not path or not Path(path).is_dir():
        pytest.skip("needs the real data sets: set ZOO_DATA_DIR (e.g. ../shared/data)")
    return Path(path)


@pytest.fixture(scope="session")
def imdb_dir(data_dir):
    if not (data_dir / "imdb" / "train.csv.gz").is_file():
        pytest.skip(f"needs {data_dir}/imdb/train.csv.gz and test.csv.gz")
    return data_dir


@pytest.fixture(scope="session")
def tiny_trigger_word_config(tmp_path_factory):
    """The tiny "hey zoo" detector's config, whose word-bank cache is synthesized once for the whole test run.

    Every test process of the run shares the cache (a lock lets one synthesize while the others wait): the banks
    cost half a minute of text-to-speech on two cores, and the tiny runs of test_trigger_word and test_reliability
    (four processes) all read them, which they find only with this config's word and bank settings."""
    from tasks.trigger_word import data
    from tasks.trigger_word.config import PRESETS, TriggerWordConfig
    from tests import fixtures
    from zoo.config import from_dict

    fixtures.skip_without_tts()
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder the processes of one run share
    cache = root / "trigger_word_tiny_cache"
    config = from_dict(TriggerWordConfig, {**PRESETS["tiny"], "trigger_word": "hey zoo", "cache_dir": str(cache)})
    with open(root / "trigger_word_tiny_cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data.load_banks(config)
    return config
