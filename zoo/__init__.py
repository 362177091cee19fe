"""RNN model zoo: shared layers, training flow, export and loading.

Apps need only `zoo.load(name_or_path)`, which returns a predictor over an exported SavedModel;
`zoo.load_keras(name_or_path)` gives the export's Keras model, loaded in Keras's safe mode.
Importing `zoo` also registers its layers, so `keras.saving.load_model` can read the `.keras` files.
"""

from zoo import layers  # noqa: F401  (registers the custom layers for .keras loading)
from zoo.export import BrokenExport, available, load, load_keras

__all__ = ["BrokenExport", "available", "load", "load_keras"]
