import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]


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
