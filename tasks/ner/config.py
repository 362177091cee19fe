"""NER configuration and presets."""

import dataclasses
from typing import Literal

from zoo.config import DataConfig, RecurrentConfig, RunConfig, section_defaults
from zoo.layers.character_encoder import ENCODERS

TAG_SCHEMES = ("iob2", "bioes")
OUTPUT_LAYERS = ("crf", "softmax")


@dataclasses.dataclass
class NerConfig(RunConfig):
    """CoNLL-2003 tagger: word, casing and character features, a bidirectional recurrent stack, CRF.

    Attributes:
        tag_scheme: tags the model predicts: `bioes` (default: the CRF learns where entities end,
            not only where they start) or `iob2`. Scores and outputs are entity spans either way.
        min_count: train-split occurrences a word needs to enter the vocabulary.
        unknown_word_rate: share of known words replaced by the unknown word in training.
        embedding_dim: word embedding size; the size of the vectors of `word_vectors` when it is set.
        word_vectors: a `.npz` file of word vectors written by `python -m tasks.ner.word_vectors` (learned from
            the project's own English text) to start the word embeddings from; empty: learned from scratch.
        max_vector_words: the most frequent words of `word_vectors` that are not train words join the
            vocabulary, up to this many, so that a word never seen in CoNLL's train split keeps its vector.
            0 by default: 20,000 such words nearly doubled the export (40 MB) for no measured gain (the
            model card's ablation).
        casing_embedding_dim: casing-class embedding size.
        char_encoder: `cnn`, `lstm`, or `none` for no character features.
        lexicons: whether each token also gets where it lies in the phrases of the name lists of
            `data_pipelines.lexicons` (people, places, company suffixes, languages) that cover it.
        char_embedding_dim: character embedding size.
        char_hidden_dim: CNN filters, or LSTM units per direction, of the character encoder.
        max_word_length: characters read per word.
        recurrent: the bidirectional stack; its dropout also applies to the word features and before
            the output.
        output_layer: `crf` (Viterbi-decoded tag paths) or `softmax` (independent per-token tags).
    """

    # Data
    tag_scheme: Literal[TAG_SCHEMES] = "bioes"
    min_count: int = 1
    unknown_word_rate: float = 0.3
    max_word_length: int = 20

    # Model
    embedding_dim: int = 100
    word_vectors: str = ""
    max_vector_words: int = 0
    casing_embedding_dim: int = 8
    char_encoder: Literal[ENCODERS + ("none",)] = "cnn"
    char_embedding_dim: int = 32
    char_hidden_dim: int = 64
    lexicons: bool = False
    recurrent: RecurrentConfig = section_defaults(RecurrentConfig, cell="lstm", hidden_dim=200, dropout=0.5)
    output_layer: Literal[OUTPUT_LAYERS] = "crf"

    # Training
    epochs: int = 15
    data: DataConfig = section_defaults(DataConfig, batch_size=32, num_buckets=6)


PRESETS = {
    "default": {},
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "epochs": 2,
        "batch_size": 16,
        "max_examples": 200,
        "embedding_dim": 16,
        "casing_embedding_dim": 4,
        "char_embedding_dim": 8,
        "char_hidden_dim": 8,
        "max_word_length": 12,
        "hidden_dim": 16,
        "num_buckets": 3,
    },
}
