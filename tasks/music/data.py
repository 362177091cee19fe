"""Melodies for the music model: WJazzD solos, the Metheny guitar line, O'Neill's folk tunes, or your own MIDI.

Each piece becomes MelodyRNN events (`data_pipelines.midi`) and then ids:

    PAD_ID 0 | END_ID 1 (after a piece's last event) | NOTE_OFF_ID 2 | HOLD_ID 3 |
    one id per pitch from MIN_PITCH to MAX_PITCH | one id per condition (the corpus, then performers)

Pitches outside the range move by octaves into it. A piece's input starts with its condition id (the
"one" of one-to-many) and its targets end with `END_ID`. Pieces are split by piece with a fixed seed, so
no solo is in two splits; the single Metheny piece is split by time (train, then validation, then test).
"""

import json
import logging
import os
import tarfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from data_pipelines import midi, sources, text
from data_pipelines.splits import Splits

WJAZZD_FILE = "jazz/wjazzd_solos_midi_453.tar.gz"
METHENY_FILE = "jazz/original_metheny.mid"
METHENY_INSTRUMENT = "Guitar"  # Pat Metheny's own line in the sequenced arrangement
FOLK_CORPUS = "oneills1850"  # music21's copy of O'Neill's "Music of Ireland" (1903), 1,850 tunes in abc
SPLIT_SEED = 1234

PAD_ID, END_ID, NOTE_OFF_ID, HOLD_ID = 0, 1, 2, 3
MIN_PITCH, MAX_PITCH = 24, 107  # C1 to B7: seven octaves
FIRST_PITCH_ID = 4
FIRST_CONDITION_ID = FIRST_PITCH_ID + MAX_PITCH - MIN_PITCH + 1

log = logging.getLogger(__name__)


class Pieces(NamedTuple):
    names: list  # where each piece came from (file name, tune title)
    conditions: list  # the condition each piece is played under (corpus or performer)
    events: list  # int32 event arrays (`data_pipelines.midi`)


def events_to_ids(events):
    """MelodyRNN events (any int tensor or array) -> model ids, pitches folded by octaves into range."""
    events = tf.convert_to_tensor(events, tf.int32)
    span = MAX_PITCH - MIN_PITCH + 1
    folded = MIN_PITCH + tf.where(
        events < MIN_PITCH,
        (events - MIN_PITCH) % 12,
        tf.where(events > MAX_PITCH, span - 12 + (events - MAX_PITCH - 1) % 12, events - MIN_PITCH),
    )
    return tf.where(
        events == midi.NOTE_OFF,
        NOTE_OFF_ID,
        tf.where(events >= 0, FIRST_PITCH_ID + folded - MIN_PITCH, HOLD_ID),
    )


def ids_to_events(ids):
    """Model ids -> MelodyRNN events; the end, padding and condition ids read as `HOLD`."""
    ids = tf.convert_to_tensor(ids, tf.int32)
    is_pitch = (ids >= FIRST_PITCH_ID) & (ids < FIRST_CONDITION_ID)
    return tf.where(is_pitch, ids - FIRST_PITCH_ID + MIN_PITCH, tf.where(ids == NOTE_OFF_ID, midi.NOTE_OFF, midi.HOLD))


# Reading the corpora.


def read_midi_folder(directory, instrument=None):
    """`Pieces` from every MIDI file under `directory`; unreadable files are skipped with their reason logged.

    Raises:
        ValueError: when no file gives a melody (with every file's reason).
    """
    files = midi.midi_files(directory)
    if not files:
        raise FileNotFoundError(f"no .mid or .midi files under {directory}")
    names, events, skipped = [], [], {}
    for path in files:
        try:
            events.append(midi.melody_to_events(midi.read_midi(path, instrument)))
            names.append(str(path.relative_to(directory)))
        except midi.UnreadableMidi as reason:
            skipped[str(path.relative_to(directory))] = str(reason)
    if skipped:
        log.warning("skipped %d of %d MIDI files under %s: %s", len(skipped), len(files), directory, skipped)
    if not events:
        raise ValueError(f"none of the {len(files)} MIDI files under {directory} holds a melody: {skipped}")
    return Pieces(names, [Path(directory).name] * len(names), events)


def read_wjazzd(path, condition_on_performer):
    """The WJazzD solos of the tarball, conditioned on their performer (`Performer_Title_FINAL.mid`)."""
    names, conditions, events = [], [], []
    with tarfile.open(path) as archive:
        for member in sorted(archive.getmembers(), key=lambda member: member.name):
            if not member.name.endswith(".mid"):
                continue
            melody = midi.read_midi(archive.extractfile(member).read())
            names.append(Path(member.name).name)
            conditions.append(Path(member.name).name.split("_")[0] if condition_on_performer else "wjazzd")
            events.append(midi.melody_to_events(melody))
    return Pieces(names, conditions, events)


def read_folk(max_pieces=0):
    """O'Neill's 1850 tunes from the music21 corpus: the melody set that needs no data directory.

    Parsing abc takes minutes, so the events are cached under `$XDG_CACHE_HOME/zoo` (`~/.cache/zoo`)
    per music21 version; a smoke run (`max_pieces`) parses only the tunes it needs and caches nothing.
    """
    import music21

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zoo"
    cache_file = cache / f"music21-{music21.__version__}-{FOLK_CORPUS}.json"
    if not max_pieces and cache_file.is_file():
        stored = json.loads(cache_file.read_text())
        return Pieces(stored["names"], stored["conditions"], [np.array(e, np.int32) for e in stored["events"]])
    names, events = [], []
    for path in sorted(music21.corpus.getComposer(FOLK_CORPUS)):
        parsed = music21.corpus.parse(path)  # an Opus of tunes, or a Score where a file holds one
        for score in parsed.scores if isinstance(parsed, music21.stream.Opus) else [parsed]:
            try:
                events.append(midi.melody_to_events(midi.read_score(score)))
            except midi.UnreadableMidi:
                continue
            names.append(f"{Path(path).stem}/{score.metadata.title if score.metadata else len(names)}")
            if max_pieces and len(names) >= max_pieces:
                return Pieces(names, ["folk"] * len(names), events)
    pieces = Pieces(names, ["folk"] * len(names), events)
    cache.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_suffix(".tmp")
    temporary.write_text(json.dumps({**pieces._asdict(), "events": [e.tolist() for e in events]}))
    temporary.replace(cache_file)
    return pieces


def _find(relative_path, config):
    found = sources.find_local([relative_path], config.data.data_dir)
    if not found:
        raise sources.DataNotFoundError(
            sources.missing_data_message(
                f"The {config.corpus} corpus",
                [relative_path],
                "pass --midi-dir with your own MIDI files, or --corpus folk (no data needed).",
                config.data.data_dir,
            )
        )
    return found[0]


# Splits.


def _split_by_time(pieces, config):
    """The one piece cut into train, validation and test stretches, each starting on a note."""
    events = pieces.events[0]
    onsets = np.flatnonzero(events >= 0)
    cuts = [1 - config.split.validation_fraction - config.split.test_fraction, 1 - config.split.test_fraction]
    first, second = (int(onsets[np.searchsorted(onsets, share * len(events))]) for share in cuts)
    parts = {"train": events[:first], "validation": events[first:second], "test": events[second:]}
    return Splits(*(Pieces([f"{pieces.names[0]} ({name})"], pieces.conditions, [part]) for name, part in parts.items()))


def make_splits(config):
    """Train, validation and test `Pieces` of the configured corpus."""
    instrument = config.instrument or None
    if config.midi_dir:
        pieces = read_midi_folder(Path(config.midi_dir).expanduser(), instrument)
    elif config.corpus == "folk":
        pieces = read_folk(config.data.max_examples)
    elif config.corpus == "metheny":
        melody = midi.read_midi(_find(METHENY_FILE, config), instrument or METHENY_INSTRUMENT)
        return _split_by_time(Pieces(["original_metheny.mid"], ["metheny"], [midi.melody_to_events(melody)]), config)
    else:
        pieces = read_wjazzd(_find(WJAZZD_FILE, config), config.condition_on_performer)
    if len(pieces.events) < 3:
        raise ValueError(f"{len(pieces.events)} pieces with a melody; a split needs at least 3")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(pieces.events))
    test_count = max(1, round(config.split.test_fraction * len(order)))
    validation_count = max(1, round(config.split.validation_fraction * len(order)))
    parts = np.split(order, [test_count, test_count + validation_count])
    test, validation, train = (Pieces(*([field[i] for i in part] for field in pieces)) for part in parts)
    return Splits(train, validation, test).head(config.data.max_examples)


def condition_vocabulary(train, corpus_token):
    """The condition names a model knows: the corpus token first, then each condition with at least two
    training pieces (one piece is too few to learn a style from)."""
    counts = {}
    for condition in train.conditions:
        counts[condition] = counts.get(condition, 0) + 1
    return [corpus_token] + sorted(c for c, count in counts.items() if count >= 2 and c != corpus_token)


def condition_ids(conditions, vocabulary):
    """Each condition's id; conditions outside `vocabulary` get the corpus token's."""
    index = {condition: FIRST_CONDITION_ID + i for i, condition in enumerate(vocabulary)}
    return [index.get(condition, FIRST_CONDITION_ID) for condition in conditions]


def piece_ids(pieces, vocabulary):
    """`(inputs, targets)` per piece: `[condition] + ids` and `ids + [END_ID]`, as int32 arrays."""
    rows = []
    for condition, events in zip(condition_ids(pieces.conditions, vocabulary), pieces.events):
        ids = events_to_ids(events).numpy()
        rows.append((np.concatenate([[condition], ids]), np.concatenate([ids, [END_ID]])))
    return rows


def windows(rows, length):
    """Rows cut into `length`-event windows; each window's input starts from its piece's condition id."""
    cut = []
    for inputs, targets in rows:
        for start in range(0, len(targets), length):
            window_targets = targets[start : start + length]
            window_inputs = np.concatenate([inputs[:1], inputs[start + 1 : start + len(window_targets)]])
            cut.append((window_inputs, window_targets))
    return cut


def transpose(inputs, targets, max_transpose, seed):
    """Both sequences moved by one random number of semitones in `[-max_transpose, max_transpose]` that
    keeps every pitch in range."""
    pitches = tf.boolean_mask(targets, (targets >= FIRST_PITCH_ID) & (targets < FIRST_CONDITION_ID))
    # The extreme ids join the pitches so that a window with none still has a min and a max.
    lowest = tf.reduce_min(tf.concat([pitches, [FIRST_CONDITION_ID - 1]], 0))
    highest = tf.reduce_max(tf.concat([pitches, [FIRST_PITCH_ID]], 0))
    low = tf.maximum(-max_transpose, FIRST_PITCH_ID - lowest)
    high = tf.minimum(max_transpose, FIRST_CONDITION_ID - 1 - highest)
    shift = tf.random.uniform([], low, tf.maximum(high, low) + 1, tf.int32, seed=seed)

    def move(ids):
        return tf.where((ids >= FIRST_PITCH_ID) & (ids < FIRST_CONDITION_ID), ids + shift, ids)

    return move(inputs), move(targets)


def make_dataset(pieces, vocabulary, config, training):
    """Batches of `(inputs (batch, time), targets (batch, time))` windows, targets padded with
    `text.PAD_LABEL`; shuffled and transposed when `training`."""
    rows = windows(piece_ids(pieces, vocabulary), config.window)
    lengths = [len(row[1]) for row in rows]
    inputs = tf.RaggedTensor.from_row_lengths(np.concatenate([row[0] for row in rows]).astype(np.int32), lengths)
    targets = tf.RaggedTensor.from_row_lengths(np.concatenate([row[1] for row in rows]).astype(np.int32), lengths)
    dataset = text.ragged_rows_dataset(inputs, targets)
    if training:
        dataset = dataset.shuffle(len(rows), seed=config.seed, reshuffle_each_iteration=True)
        if config.max_transpose:
            dataset = dataset.map(lambda x, y: transpose(x, y, config.max_transpose, config.seed))
    boundaries = text.length_bucket_boundaries(lengths, config.data.num_buckets)
    batches = text.bucketed_batches(
        dataset, config.data.batch_size, boundaries, lengths, padding_values=(PAD_ID, text.PAD_LABEL)
    )
    return batches.prefetch(tf.data.AUTOTUNE)
