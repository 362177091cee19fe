"""Translation configuration and presets: one model family for generated dates and Anki sentence pairs."""

import dataclasses
from typing import Literal

from zoo.config import DataConfig, RecurrentConfig, RunConfig, at_least, section_defaults

DATASETS = ("dates", "anki")
LANGUAGES = ("spa", "fra", "deu")


@dataclasses.dataclass
class TranslationConfig(RunConfig):
    """Encoder-decoder: bidirectional recurrent encoder, additive attention, LSTM decoder, beam search.

    Attributes:
        dataset: `dates` (generated human-readable dates -> ISO `YYYY-MM-DD`, character level) or
            `anki` (Tatoeba sentence pairs -> English, word level).
        language: the Anki source language: `spa`, `fra` or `deu` (always translated into English).
        train_size: generated training dates (dates only; sentence pairs train on every pair left).
        validation_size: pairs (or dates) held out for epoch selection, disjoint from train and test.
        test_size: held-out pairs (or dates, generated with another seed); no test source occurs in train.
        min_count: train occurrences a word or character needs to enter a vocabulary.
        max_source_length: tokens (characters for dates) read from an input; longer inputs are cut.
        max_target_length: the most tokens decoded; also the longest training target kept.
        embedding_dim: source and target embedding size.
        recurrent: the bidirectional encoder (`hidden_dim` units per direction); its dropout is also applied to
            the embeddings, the encoder outputs and the decoder's output layer.
        decoder_hidden_dim: decoder LSTM units.
        attention_hidden_dim: hidden size of the additive attention.
        beam_width: the exported model's default beam width (1 is greedy).
        length_alpha: the exported model's default length-normalization exponent.
    """

    # Data
    dataset: Literal[DATASETS] = "anki"
    language: Literal[LANGUAGES] = "spa"
    train_size: int = 100_000
    validation_size: int = 3_000
    test_size: int = 5_000
    min_count: int = 3
    max_source_length: int = 50
    max_target_length: int = 50

    # Model
    embedding_dim: int = 128
    recurrent: RecurrentConfig = section_defaults(RecurrentConfig, cell="lstm", hidden_dim=192, dropout=0.3)
    decoder_hidden_dim: int = 256
    attention_hidden_dim: int = 192

    # Decoding of the export
    beam_width: int = at_least(4, 1)
    length_alpha: float = 0.6

    # Training
    epochs: int = 15
    data: DataConfig = section_defaults(DataConfig, batch_size=128, num_buckets=8)

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
        "epochs": 6,
        "test_size": 10_000,
        "validation_size": 10_000,  # at 99.9% accuracy a smaller split ties across epochs
        "min_count": 1,
        "max_source_length": 64,
        "max_target_length": 12,
        "embedding_dim": 32,
        "hidden_dim": 64,
        "decoder_hidden_dim": 128,
        "attention_hidden_dim": 64,
        "dropout": 0.1,
        "length_alpha": 0.0,
    },
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "dataset": "dates",
        "epochs": 2,
        "batch_size": 32,
        "train_size": 512,
        "validation_size": 64,
        "test_size": 64,
        "min_count": 1,
        "max_source_length": 64,
        "max_target_length": 12,
        "embedding_dim": 8,
        "hidden_dim": 8,
        "decoder_hidden_dim": 16,
        "attention_hidden_dim": 8,
        "num_buckets": 3,
    },
}
