"""Monophonic melodies from MIDI files and music21 scores, on a sixteenth-note grid, as events and back.

A melody is a list of `Note(pitch, start, end)` in grid steps, `STEPS_PER_BEAT` to a beat. Its events are
Magenta MelodyRNN's: one per step, a MIDI pitch (0-127) starts a note (and ends the one sounding),
`NOTE_OFF` ends the sounding note, `HOLD` changes nothing. One event per step keeps rhythm and position
explicit, so a model needs no separate duration vocabulary and a primer of n steps is n events.

Grid steps come from the file's ticks, not from seconds: a MIDI file's beat is its tick resolution, so
tempo changes do not move notes off the grid. Silences longer than `MAX_REST_STEPS` are shortened to it,
so that long pauses (and the silence before the first note) are not learned as runs of `HOLD`.
"""

import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

STEPS_PER_BEAT = 4  # sixteenth notes in 4/4
NOTE_OFF = -1
HOLD = -2
MAX_REST_STEPS = 4 * STEPS_PER_BEAT  # one 4/4 bar
# A voice is a melody when at most this share of its notes overlaps the previous note by more than a step.
POLYPHONY_LIMIT = 0.1


class Note(NamedTuple):
    pitch: int
    start: int  # grid step of the onset
    end: int  # grid step after the last one sounding; > start


class _RawNote(NamedTuple):
    pitch: int
    start: int
    end: int
    raw_end: float  # the unrounded end, to measure overlaps


class UnreadableMidi(ValueError):
    """A file that gives no melody: its message is the reason, for the log and for the user."""


def to_melody(notes):
    """`(pitch, start, end)` in fractional grid steps -> one quantized melody line, and the share of notes
    that overlapped the previous one (chords count), which measures polyphony.

    Onsets and ends round to the nearest step; every note lasts at least a step. Of notes that start on
    the same step the highest is kept (the melody is usually on top); a note ends where the next begins.
    """
    notes = sorted(notes, key=lambda note: (note[1], -note[0]))
    melody, overlaps = [], 0
    for pitch, start, end in notes:
        step = round(start)
        if melody and start < melody[-1].raw_end - 1:
            overlaps += 1
        if melody and step <= melody[-1].start:
            continue  # a lower note of a chord
        if melody and melody[-1].end > step:
            melody[-1] = melody[-1]._replace(end=step)
        melody.append(_RawNote(int(pitch), step, max(round(end), step + 1), end))
    return [Note(note.pitch, note.start, note.end) for note in melody], overlaps / max(len(notes), 1)


def read_midi(source, instrument=None):
    """The melody of a MIDI file (a path or bytes), as quantized `Note`s.

    Args:
        instrument: the name of the track that holds the melody; by default the one non-drum track that is a
            single line (see `POLYPHONY_LIMIT`), the one with the most notes if several are.

    Raises:
        UnreadableMidi: corrupt bytes, no notes, drums only, no such instrument, or no voice that is a melody.
    """
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except Exception as error:  # pretty_midi and mido raise many types for bad bytes
        raise UnreadableMidi(f"not a readable MIDI file ({type(error).__name__}: {error})") from None
    if not any(voice.notes for voice in midi.instruments):
        raise UnreadableMidi("no notes")
    voices = [voice for voice in midi.instruments if voice.notes and not voice.is_drum]
    if not voices:
        raise UnreadableMidi("drums only")
    if instrument is not None:
        voices = [voice for voice in voices if voice.name == instrument]
        if not voices:
            names = sorted({voice.name for voice in midi.instruments})
            raise UnreadableMidi(f"no instrument named {instrument!r}; it has {names}")
    ticks_per_step = midi.resolution / STEPS_PER_BEAT
    melodies = []
    for voice in voices:
        melody, polyphony = to_melody(
            (note.pitch, midi.time_to_tick(note.start) / ticks_per_step, midi.time_to_tick(note.end) / ticks_per_step)
            for note in voice.notes
        )
        if polyphony <= POLYPHONY_LIMIT:
            melodies.append(melody)
    if not melodies:
        raise UnreadableMidi(f"polyphonic: no voice is a single melody line (more than {POLYPHONY_LIMIT:.0%} overlaps)")
    return max(melodies, key=len)


def read_score(score):
    """The melody of a music21 score (its top voice where notes sound together), as quantized `Note`s."""
    notes = []
    for element in score.stripTies().flatten().notes:
        pitch = max(p.midi for p in element.pitches) if element.isChord else element.pitch.midi
        start = float(element.offset) * STEPS_PER_BEAT
        notes.append((pitch, start, start + float(element.quarterLength) * STEPS_PER_BEAT))
    if not notes:
        raise UnreadableMidi("no notes")
    return to_melody(notes)[0]


def melody_to_events(melody, max_rest=MAX_REST_STEPS):
    """`Note`s -> int events, one per step from the first onset to a final `NOTE_OFF`."""
    events, now = [], None
    for note in melody:
        if now is not None and note.start > now:
            events += [NOTE_OFF] + [HOLD] * (min(note.start - now, max_rest) - 1)
        events += [note.pitch] + [HOLD] * (note.end - note.start - 1)
        now = note.end
    return np.array(events + [NOTE_OFF] if events else [], np.int32)


def events_to_melody(events):
    """Events -> `Note`s (steps from 0); the inverse of `melody_to_events` up to shortened silences.

    Unknown values (below `HOLD`, above 127) are read as `HOLD`.
    """
    melody, sounding = [], None
    for step, event in enumerate(np.asarray(events).tolist()):
        if event == NOTE_OFF or 0 <= event <= 127:
            if sounding is not None:
                melody.append(Note(sounding[0], sounding[1], step))
            sounding = (event, step) if event >= 0 else None
    if sounding is not None:
        melody.append(Note(sounding[0], sounding[1], len(events)))
    return melody


def melody_to_midi(melody, tempo=120.0, program=0, velocity=90):
    """`Note`s -> a one-track `pretty_midi.PrettyMIDI` at `tempo` beats per minute."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    seconds_per_step = 60.0 / tempo / STEPS_PER_BEAT
    voice = pretty_midi.Instrument(program=program, name="melody")
    voice.notes = [
        pretty_midi.Note(velocity, note.pitch, note.start * seconds_per_step, note.end * seconds_per_step)
        for note in melody
    ]
    midi.instruments.append(voice)
    return midi


def midi_files(directory):
    """Every `.mid` / `.midi` file under `directory`, sorted, so that splits do not depend on the file system."""
    return sorted(path for path in Path(directory).rglob("*") if path.suffix.lower() in (".mid", ".midi"))


def piano_roll(melody, path, title=""):
    """A PNG of `melody`: pitch against time in beats, one bar per note."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(max(6, len(melody) / 12), 3.5))
    for note in melody:
        start, length = note.start / STEPS_PER_BEAT, (note.end - note.start) / STEPS_PER_BEAT
        axes.broken_barh([(start, length)], (note.pitch - 0.4, 0.8), color="tab:blue")
    axes.set(xlabel="beat", ylabel="MIDI pitch", title=title)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian's fluid-soundfont-gm


def render_audio(midi_path, wav_path, soundfont=SOUNDFONT, sample_rate=44100):
    """Renders a MIDI file to a WAV file with the `fluidsynth` program and a General MIDI soundfont."""
    import shutil
    import subprocess

    if not shutil.which("fluidsynth"):
        raise RuntimeError(
            "rendering audio needs the fluidsynth program: apt-get install fluidsynth fluid-soundfont-gm"
        )
    if not Path(soundfont).is_file():
        raise RuntimeError(f"no soundfont at {soundfont}: apt-get install fluid-soundfont-gm")
    subprocess.run(
        ["fluidsynth", "-ni", "-F", str(wav_path), "-r", str(sample_rate), str(soundfont), str(midi_path)],
        check=True,
        capture_output=True,
    )


def write_melody(events, path, tempo=120.0, wav=False):
    """Events -> `path` (a MIDI file) and a piano roll beside it (`.png`), and with `wav` an audio rendering
    (`.wav`). Returns the paths written."""
    path = Path(path)
    melody = events_to_melody(events)
    melody_to_midi(melody, tempo).write(str(path))
    written = [path, path.with_suffix(".png")]
    piano_roll(melody, written[1], title=path.stem)
    if wav:
        written.append(path.with_suffix(".wav"))
        render_audio(path, written[2])
    return written
