"""NER configuration and presets."""

import dataclasses

from zoo.config import TrainConfig
from zoo.layers.character_encoder import ENCODERS
from zoo.layers.recurrent_stack import CELLS

TAG_SCHEMES = ("iob2", "bioes")
OUTPUT_LAYERS = ("crf", "softmax")


@dataclasses.dataclass
class NerConfig(TrainConfig):
    """CoNLL-2003 tagger: word, casing and character features, a bidirectional recurrent stack, CRF.

    Attributes:
        tag_scheme: tags the model predicts: `bioes` (default: the CRF learns where entities end,
            not only where they start) or `iob2`. Scores and outputs are entity spans either way.
        min_word_count: train-split occurrences a word needs to enter the vocabulary.
        unknown_word_rate: share of known words replaced by the unknown word in training.
        word_dim: word embedding size (learned from scratch).
        casing_dim: casing-class embedding size.
        char_encoder: `cnn`, `lstm`, or `none` for no character features.
        char_dim: character embedding size.
        char_units: CNN filters, or LSTM units per direction, of the character encoder.
        max_chars: characters read per word.
        cell: `lstm`, `gru` or `simple`.
        hidden_dim: recurrent units per direction.
        num_layers: stacked bidirectional layers.
        dropout: dropout on the word features, between recurrent layers and before the output.
        output_layer: `crf` (Viterbi-decoded tag paths) or `softmax` (independent per-token tags).
        weight_decay: decoupled (AdamW) weight decay.
        cosine_decay: decay the learning rate along a cosine over the whole run.
        ema_momentum: momentum of the weight moving average that is evaluated and exported; 0 disables.
        num_buckets: sentence-length buckets for batching.
        export_dir: where the end-to-end model is exported; default `<out_dir>/export`.
    """

    out_dir: str = "runs/ner"
    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 2e-3
    clipnorm: float = 5.0
    tag_scheme: str = "bioes"
    min_word_count: int = 1
    unknown_word_rate: float = 0.3
    word_dim: int = 100
    casing_dim: int = 8
    char_encoder: str = "cnn"
    char_dim: int = 32
    char_units: int = 64
    max_chars: int = 20
    cell: str = "lstm"
    hidden_dim: int = 200
    num_layers: int = 1
    dropout: float = 0.5
    output_layer: str = "crf"
    weight_decay: float = 0.0
    cosine_decay: bool = True
    ema_momentum: float = 0.99
    num_buckets: int = 6
    export_dir: str = ""

    def __post_init__(self):
        super().__post_init__()
        choices = {
            "tag_scheme": TAG_SCHEMES,
            "char_encoder": ENCODERS + ("none",),
            "cell": tuple(CELLS),
            "output_layer": OUTPUT_LAYERS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")


PRESETS = {
    "default": {},
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "epochs": 2,
        "batch_size": 16,
        "max_examples": 200,
        "word_dim": 16,
        "casing_dim": 4,
        "char_dim": 8,
        "char_units": 8,
        "max_chars": 12,
        "hidden_dim": 16,
        "num_buckets": 3,
    },
}
