"""The configuration every task's dataclass extends."""

import dataclasses
import json
from pathlib import Path
from typing import Optional

STRATEGIES = ("default", "mirrored")


@dataclasses.dataclass
class TrainConfig:
    """Fields shared by every task; each becomes a command-line flag of the same name.

    Attributes:
        data_dir: local data directory, searched before `$ZOO_DATA_DIR` and the tfds download.
        out_dir: where checkpoints, logs, metrics and the export are written.
        epochs: training epochs.
        batch_size: global batch size (split across replicas under `mirrored`).
        learning_rate: peak learning rate of the optimizer.
        clipnorm: clip each gradient to this global norm; 0 disables clipping.
        seed: seeds Python, NumPy, TensorFlow and data shuffling.
        max_examples: use at most this many examples of each split (smoke runs); 0 means all.
        resume: continue an interrupted run in `out_dir` from its last finished epoch.
        strategy: `default` (one device) or `mirrored` (every local GPU or logical device).
    """

    data_dir: Optional[str] = None
    out_dir: str = "runs/default"
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    seed: int = 0
    max_examples: int = 0
    resume: bool = False
    strategy: str = "default"

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")

    def to_dict(self):
        return dataclasses.asdict(self)

    def write(self, path):
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
