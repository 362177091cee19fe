"""Translation configuration and presets: one model family for generated dates and Anki sentence pairs."""

import dataclasses

from zoo.config import TrainConfig

DATASETS = ("dates", "anki")
LANGUAGES = ("spa", "fra", "deu")


@dataclasses.dataclass
class TranslationConfig(TrainConfig):
    """Encoder-decoder: bidirectional LSTM encoder, additive attention, LSTM decoder, beam search.

    Attributes:
        dataset: `dates` (generated human-readable dates -> ISO `YYYY-MM-DD`, character level) or
            `anki` (Tatoeba sentence pairs -> English, word level).
        language: the Anki source language: `spa`, `fra` or `deu` (always translated into English).
        num_train: generated training dates (dates only).
        num_test: held-out dates, generated with another seed and absent from training (dates only).
        test_size: pairs in the Anki test split; no test source sentence occurs in train.
        validation_size: pairs (or dates) held out for epoch selection, disjoint from train and test.
        min_count: train occurrences a word or character needs to enter a vocabulary.
        max_source_length: tokens (characters for dates) read from an input; longer inputs are cut.
        max_target_length: the most tokens decoded; also the longest training target kept.
        embedding_dim: source and target embedding size.
        hidden_dim: encoder units per direction.
        num_layers: stacked bidirectional encoder layers.
        decoder_dim: decoder LSTM units.
        attention_dim: hidden size of the additive attention.
        dropout: dropout on embeddings, encoder outputs and the decoder's output layer.
        weight_decay: decoupled (AdamW) weight decay.
        cosine_decay: decay the learning rate along a cosine over the whole run.
        ema_momentum: momentum of the weight moving average that is evaluated and exported; 0 disables.
        beam_width: the exported model's default beam width (1 is greedy).
        length_alpha: the exported model's default length-normalization exponent.
        num_buckets: source-length buckets for batching.
        export_dir: where the end-to-end model is exported; default `<out_dir>/export`.
    """

    out_dir: str = "runs/translation-spa-en"
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 2e-3
    clipnorm: float = 5.0
    dataset: str = "anki"
    language: str = "spa"
    num_train: int = 100_000
    num_test: int = 10_000
    test_size: int = 5_000
    validation_size: int = 3_000
    min_count: int = 3
    max_source_length: int = 50
    max_target_length: int = 50
    embedding_dim: int = 128
    hidden_dim: int = 192
    num_layers: int = 1
    decoder_dim: int = 256
    attention_dim: int = 192
    dropout: float = 0.3
    weight_decay: float = 0.0
    cosine_decay: bool = True
    ema_momentum: float = 0.99
    beam_width: int = 4
    length_alpha: float = 0.6
    num_buckets: int = 8
    export_dir: str = ""

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.beam_width < 1:
            raise ValueError(f"beam_width must be at least 1, got {self.beam_width}")

    @property
    def level(self):
        """`char` for dates, `word` for sentence pairs."""
        return "char" if self.dataset == "dates" else "word"

    @property
    def model_name(self):
        """The export's name in `saved_models/`: `translation-dates`, `translation-spa-en`, ..."""
        return "translation-dates" if self.dataset == "dates" else f"translation-{self.language[:2]}-en"


PRESETS = {
    "default": {},
    "dates": {
        "dataset": "dates",
        "out_dir": "runs/translation-dates",
        "epochs": 6,
        "batch_size": 128,
        "min_count": 1,
        "max_source_length": 64,
        "max_target_length": 12,
        "embedding_dim": 32,
        "hidden_dim": 64,
        "decoder_dim": 128,
        "attention_dim": 64,
        "dropout": 0.1,
        "validation_size": 10_000,  # at 99.9% accuracy a smaller split ties across epochs
        "length_alpha": 0.0,
    },
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "dataset": "dates",
        "epochs": 2,
        "batch_size": 32,
        "num_train": 512,
        "num_test": 64,
        "validation_size": 64,
        "min_count": 1,
        "max_source_length": 64,
        "max_target_length": 12,
        "embedding_dim": 8,
        "hidden_dim": 8,
        "decoder_dim": 16,
        "attention_dim": 8,
        "num_buckets": 3,
    },
}
