"""Where a data set's files come from.

A data set is looked for, in this order:
1. the explicit data directory (`--data-dir`),
2. the `ZOO_DATA_DIR` environment variable,
3. the library's normal download (tensorflow-datasets) into its cache.
When none of them has it, `DataNotFoundError` names the file expected and where to put it.
"""

import os
from pathlib import Path

ENV_VAR = "ZOO_DATA_DIR"


class DataNotFoundError(FileNotFoundError):
    """A data set is neither in a local data directory nor obtainable from its download."""


def data_dirs(data_dir=None):
    """The local data directories to search, in priority order."""
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    return dirs


def find_local(relative_paths, data_dir=None):
    """The first data directory holding every file of `relative_paths`, as their resolved paths.

    Returns None when no directory holds all of them. A directory holding only some of them is an
    error, since a partial copy silently mixing with a download would be worse than failing.
    """
    for directory in data_dirs(data_dir):
        paths = [directory / relative for relative in relative_paths]
        present = [path.is_file() for path in paths]
        if all(present):
            return paths
        if any(present):
            missing = [str(path) for path, ok in zip(paths, present) if not ok]
            raise DataNotFoundError(f"Partial data set in {directory}: missing {', '.join(missing)}")
    return None


def missing_data_message(dataset, relative_paths, download_hint, data_dir=None):
    searched = [str(path) for path in data_dirs(data_dir)] or [f"(none: pass --data-dir or set {ENV_VAR})"]
    return (
        f"{dataset} not found. Expected the files {', '.join(relative_paths)} under a data directory. "
        f"Searched: {', '.join(searched)}. Put the files there, or {download_hint}"
    )


def load_tfds(name, split, missing_message):
    """Loads a tensorflow-datasets split as a `tf.data.Dataset`, never downloading from GCS mirrors.

    Any failure to download or prepare (typically no network) becomes a `DataNotFoundError` with
    `missing_message`, which says which local files would have been used instead.
    """
    import tensorflow_datasets as tfds

    try:
        return tfds.load(
            name,
            split=split,
            try_gcs=False,
            download_and_prepare_kwargs={"download_config": tfds.download.DownloadConfig(try_download_gcs=False)},
        )
    except Exception as error:  # tfds raises many unrelated types for "could not download or prepare".
        raise DataNotFoundError(f"{missing_message} (tensorflow-datasets failed: {error})") from error
