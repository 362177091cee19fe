"""Sentiment configuration and presets."""

import dataclasses

from data_pipelines.text import TRUNCATIONS
from zoo.config import TrainConfig
from zoo.layers.recurrent_stack import CELLS


@dataclasses.dataclass
class SentimentConfig(TrainConfig):
    """IMDB sentiment: embedding, bidirectional recurrent stack, masked max+mean pooling, sigmoid.

    Attributes:
        vocab_size: vocabulary size including padding and the unknown token.
        max_length: the most tokens read per review.
        truncation: which part of a longer review to keep: `head` or `tail` (reviews tend to close
            with their verdict).
        embedding_dim: word (and bigram) embedding size.
        bigram_buckets: hashed bigram embeddings added to the word embeddings; 0 disables them.
        embedding_dropout: share of embedding channels dropped in training (spatial dropout).
        time_reduction: consecutive tokens the recurrent layer reads per step (`TimeReduction`); 1 reads
            one token per step.
        cell: `lstm`, `gru` or `simple`.
        hidden_dim: recurrent units per direction.
        num_layers: stacked recurrent layers.
        dropout: dropout between recurrent layers and before the output layer.
        weight_decay: decoupled (AdamW) weight decay.
        cosine_decay: decay the learning rate along a cosine over the whole run.
        ema_momentum: momentum of the weight moving average that is evaluated and exported; 0 disables.
        validation_size: reviews carved from the train split, with a fixed seed, for model selection.
        num_buckets: length buckets for batching; 1 pads every batch to its longest review.
        export_dir: where the end-to-end model is exported; default `<out_dir>/export`.
    """

    out_dir: str = "runs/sentiment"
    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 2e-3
    vocab_size: int = 20000
    max_length: int = 800
    truncation: str = "tail"
    embedding_dim: int = 64
    bigram_buckets: int = 32768
    embedding_dropout: float = 0.5
    time_reduction: int = 2
    cell: str = "gru"
    hidden_dim: int = 128
    num_layers: int = 1
    dropout: float = 0.3
    weight_decay: float = 0.004
    cosine_decay: bool = False
    ema_momentum: float = 0.99
    validation_size: int = 2500
    num_buckets: int = 8
    export_dir: str = ""

    def __post_init__(self):
        super().__post_init__()
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.time_reduction < 1:
            raise ValueError(f"time_reduction must be at least 1, got {self.time_reduction}")
        if self.truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {self.truncation!r}")


PRESETS = {
    "default": {},
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "epochs": 2,
        "batch_size": 16,
        "max_examples": 256,
        "validation_size": 64,
        "vocab_size": 2000,
        "max_length": 64,
        "embedding_dim": 16,
        "bigram_buckets": 512,
        "hidden_dim": 8,
        "num_buckets": 3,
    },
}
