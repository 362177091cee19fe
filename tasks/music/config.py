"""Music configuration and presets."""

import dataclasses
from typing import Literal

from zoo.config import DataConfig, RecurrentConfig, RunConfig, SplitConfig, at_least, section_defaults

CORPORA = ("wjazzd", "metheny", "folk")


@dataclasses.dataclass
class MusicConfig(RunConfig):
    """Melody events (one per sixteenth note) through a recurrent stack to a softmax over the next event.

    Attributes:
        corpus: `wjazzd` (the Weimar Jazz Database's 453 solos) or `metheny` (the guitar line of
            `original_metheny.mid`), read from the data directory; `folk` (O'Neill's 1850 tunes, shipped
            inside music21), which needs no data directory. Ignored when `midi_dir` is set.
        midi_dir: a folder of your own MIDI files (searched recursively), one melody per file.
        instrument: the name of the track that holds the melody in every file; empty picks the non-drum
            track that is a single line (the one with the most notes if several are).
        condition_on_performer: start each WJazzD solo with its performer's token (performers with at least
            two training solos; the others share the corpus token) instead of the corpus token.
        split: the shares of the pieces (of the steps, for `metheny`) held out for validation and test.
        window: events per training sequence; pieces are cut into windows that each start from the
            condition token.
        max_transpose: in training, each window moves by a random number of semitones up to this either way
            (where its notes stay in the pitch range); 0 turns the augmentation off.
        embedding_dim: event embedding size.
        recurrent: the stack; its dropout also applies to the embeddings and before the output layer.
        tempo: beats per minute of the MIDI files the model's events are written to.
        generated_solos: melodies the model and the n-gram each generate for the objective measures the test
            evaluation reports (the card's `generation_measures`).
    """

    # Data
    corpus: Literal[CORPORA] = "wjazzd"
    midi_dir: str = ""
    instrument: str = ""
    condition_on_performer: bool = True
    split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
    window: int = at_least(128, 2, "events")
    max_transpose: int = 5

    # Model
    embedding_dim: int = 64
    recurrent: RecurrentConfig = section_defaults(RecurrentConfig, cell="lstm", hidden_dim=256, dropout=0.2)
    tempo: float = 140.0

    # Evaluation
    generated_solos: int = at_least(100, 2, "melodies")

    # Training
    # Short windows in small batches: the 453 solos give about 100 optimizer steps an epoch; batches of 64
    # windows of 256 gave 28, and 20 epochs of those underfit (test perplexity 0.96x the n-gram's).
    epochs: int = 40
    data: DataConfig = section_defaults(DataConfig, batch_size=32, num_buckets=2)


PRESETS = {
    "default": {},
    "folk": {"corpus": "folk", "tempo": 120.0, "epochs": 20},
    # One piece of 2,619 events: small batches of short windows, a smaller stack.
    "metheny": {"corpus": "metheny", "window": 64, "batch_size": 4, "hidden_dim": 128, "epochs": 60},
    # Seconds on a CPU: for tests and smoke runs, not for accuracy.
    "tiny": {
        "corpus": "folk",
        "epochs": 2,
        "max_examples": 40,
        "window": 64,
        "embedding_dim": 8,
        "hidden_dim": 16,
        "batch_size": 16,
        "generated_solos": 10,
    },
}
