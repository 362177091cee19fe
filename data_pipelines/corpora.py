"""Raw text corpora the tasks read: IMDB reviews and Anki/Tatoeba sentence pairs.

IMDB (official 25,000 / 25,000 split): local copy `imdb/train.csv.gz` and `imdb/test.csv.gz` (columns id,
rating, label, text) under `--data-dir` or `$ZOO_DATA_DIR`; otherwise tensorflow-datasets' `imdb_reviews`.

Anki pairs: local copy `anki/{spa,fra,deu}.txt.gz` (`English<TAB>other`, one pair per line); without it, the
Spanish file of the TensorFlow NMT tutorial is downloaded.
"""

import csv
import gzip
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from data_pipelines import sources

IMDB_FILES = {"train": "imdb/train.csv.gz", "test": "imdb/test.csv.gz"}
ANKI_FILES = {language: f"anki/{language}.txt.gz" for language in ("spa", "fra", "deu")}
TUTORIAL_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"


class Reviews(NamedTuple):
    texts: list  # of review strings
    labels: np.ndarray  # int32, 1 for positive


def _read_csv(path):
    csv.field_size_limit(sys.maxsize)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"text", "label"} <= rows[0].keys():
        raise ValueError(f"{path}: expected a CSV with columns id, rating, label, text")
    return Reviews([row["text"] for row in rows], np.array([int(row["label"]) for row in rows], np.int32))


def _read_tfds(split, missing_message):
    dataset = sources.load_tfds("imdb_reviews", split, missing_message)
    texts, labels = [], []
    for example in dataset.as_numpy_iterator():
        texts.append(example["text"].decode("utf-8"))
        labels.append(int(example["label"]))
    return Reviews(texts, np.array(labels, np.int32))


def load_imdb(data_dir=None):
    """The official train and test splits as `{"train": Reviews, "test": Reviews}`."""
    local = sources.find_local(list(IMDB_FILES.values()), data_dir)
    if local:
        return {split: _read_csv(path) for split, path in zip(IMDB_FILES, local)}
    message = sources.missing_data_message(
        "IMDB reviews",
        list(IMDB_FILES.values()),
        "let tensorflow-datasets download imdb_reviews (needs network, or its manual file aclImdb_v1.tar.gz).",
        data_dir,
    )
    return {split: _read_tfds(split, message) for split in IMDB_FILES}


def _read_anki(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    english, other = [], []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise ValueError(f"{path}:{line_number}: expected 'English<TAB>translation', got {line!r}")
            english.append(fields[0].strip())
            other.append(fields[1].strip())
    return other, english


def load_anki(language, data_dir=None):
    """`(sources, targets)`: sentences in `language` and their English translations."""
    relative = ANKI_FILES[language]
    local = sources.find_local([relative], data_dir)
    if local:
        return _read_anki(local[0])
    hint = (
        "let Keras download the TensorFlow NMT tutorial copy (needs network)."
        if language == "spa"
        else "download it from https://www.manythings.org/anki/."
    )
    message = sources.missing_data_message(f"Anki {language}-eng pairs", [relative], hint, data_dir)
    if language != "spa":
        raise sources.DataNotFoundError(message)
    import keras

    try:
        archive = keras.utils.get_file("spa-eng.zip", TUTORIAL_URL, extract=True)
    except Exception as error:
        raise sources.DataNotFoundError(f"{message} (download failed: {error})") from error
    return _read_anki(next(Path(archive).rglob("spa.txt")))
