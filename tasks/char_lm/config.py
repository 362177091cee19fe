"""Character language model configuration and presets."""

import dataclasses
from typing import Literal

from zoo.config import DataConfig, RecurrentConfig, RunConfig, SplitConfig, at_least, checked, section_defaults

CORPORA = ("dinos", "shakespeare", "names")


@dataclasses.dataclass
class CharLmConfig(RunConfig):
    """Characters through a recurrent stack to a softmax over the next character or the end of the sequence.

    Attributes:
        corpus: `dinos` (dinosaur names, one per line) or `shakespeare` (the sonnets, one line per sequence),
            read from the data directory; `names` (8,633 English first names from the `faker` package), which
            needs no data directory. Ignored when `text_file` is set.
        text_file: your own UTF-8 text file, one sequence (a name, a line) per line, blank lines skipped.
        lowercase: lower-case every sequence before training and scoring.
        split: the shares of the sequences held out for validation and test (dealt block by block).
        max_length: characters read per sequence in training; longer ones are cut (scoring reads all).
        embedding_dim: character embedding size.
        recurrent: the stack; its dropout also applies to the embeddings and before the output layer.
        max_sample_length: the most characters a sample gets before it is cut.
        ngram_mixture: mix the Kneser-Ney baseline into the exported model, at the weight and by the mixing
            (linear or log-linear) that are best on validation (`zoo.language_model.best_ngram_mixture`; none if
            0 is best).
        outside_ngram_file: UTF-8 text files (comma-separated, one sequence per line) of a second Kneser-Ney
            n-gram that the exported model may mix in beside the corpus's (e.g. the taxon names a model of
            dinosaur names was pretrained on), its lines kept as pretraining's are; its order (2-8) and weight
            are chosen on validation with the corpus n-gram's (a weight of 0 leaves it out); with `ngram_mixture`.
        outside_ngram_contexts: the most contexts its table keeps, the most frequent (`NGramTable.from_model`):
            a row is one float per character, so this bounds what it adds to the export (100,000: 12 MB).
        model_name: the export's name in `saved_models/`; default the corpus (or the text file's stem).
        pretrain_corpus: `imdb`: before the corpus itself, train on pieces of the IMDB reviews (read from the
            data directory) written in the corpus's characters (`data.pretraining_lines`); `latin`: on the
            Latin lemmas of Debian's collatinus, proper names among them (`data.latin_lemmas`); empty: none.
        pretrain_file: UTF-8 text files to pretrain on too (or alone), separated by commas, one sequence per
            line, e.g. word lists such as Debian's `/usr/share/dict/american-english-insane` and the taxon
            names `python -m tasks.char_lm.taxon_names` writes, for a corpus of names.
        pretrain_sequences: the most pieces pretrained on (a seeded sample of them).
        pretrain_epochs: passes over those pieces; the one with the lowest validation loss is kept.
        pretrain_batch_size: sequences per pretraining batch.
        pretrain_learning_rate: the pretraining stage's peak learning rate.
    """

    # Data
    corpus: Literal[CORPORA] = "dinos"
    text_file: str = ""
    lowercase: bool = True
    split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
    max_length: int = 100

    # Model
    embedding_dim: int = 32
    recurrent: RecurrentConfig = section_defaults(RecurrentConfig, cell="lstm", hidden_dim=256, dropout=0.3)
    max_sample_length: int = 64
    ngram_mixture: bool = True
    outside_ngram_file: str = ""
    outside_ngram_contexts: int = at_least(100_000, 1, "context")
    model_name: str = ""

    # Pretraining
    pretrain_corpus: Literal["", "imdb", "latin"] = ""
    pretrain_file: str = ""
    pretrain_sequences: int = at_least(200_000, 1, "sequence")
    pretrain_epochs: int = at_least(2, 1, "epoch")
    pretrain_batch_size: int = at_least(128, 1, "sequence")
    pretrain_learning_rate: float = checked(2e-3, lambda value: value > 0, "positive")

    # Training
    epochs: int = 40
    data: DataConfig = section_defaults(DataConfig, batch_size=32, num_buckets=4)


PRESETS = {
    "default": {},
    "shakespeare": {"corpus": "shakespeare", "lowercase": False, "max_sample_length": 120},
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {"epochs": 2, "embedding_dim": 8, "hidden_dim": 16, "max_examples": 200, "max_sample_length": 20},
}
