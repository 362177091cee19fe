"""Music: the event encoding, bad MIDI files, the id mapping and transposition, tiny train -> export -> load on
the folk tunes shipped in music21 (no data directory), and the real corpora when ZOO_DATA_DIR is set."""

import io
import json
import shutil
import subprocess
import sys
import wave

import keras
import numpy as np
import pretty_midi
import pytest
import tensorflow as tf

from data_pipelines import midi
from tasks.music import data, generate, measures
from tasks.music.config import PRESETS, MusicConfig
from tasks.music.task import score_pieces
from tasks.music.train import train_and_evaluate
from tests.conftest import ROOT, assert_each_weight_stored_once
from zoo.config import from_dict

MELODY = [midi.Note(60, 0, 4), midi.Note(62, 4, 6), midi.Note(64, 8, 9), midi.Note(67, 9, 16), midi.Note(72, 20, 28)]


def _midi_bytes(instruments, resolution=220):
    song = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=100)
    for notes, is_drum in instruments:
        voice = pretty_midi.Instrument(program=0, is_drum=is_drum)
        step = 60 / 100 / midi.STEPS_PER_BEAT
        voice.notes = [pretty_midi.Note(80, pitch, start * step, end * step) for pitch, start, end in notes]
        song.instruments.append(voice)
    buffer = io.BytesIO()
    song.write(buffer)
    return buffer.getvalue()


def test_midi_to_events_and_back_keeps_pitches_onsets_and_durations(tmp_path):
    path = tmp_path / "melody.mid"
    midi.melody_to_midi(MELODY, tempo=97.0).write(str(path))
    assert midi.read_midi(path) == MELODY
    events = midi.melody_to_events(MELODY)
    assert events.tolist()[:10] == [60, -2, -2, -2, 62, -2, -1, -2, 64, 67]
    assert len(events) == MELODY[-1].end + 1  # one event per step, and a final NOTE_OFF
    assert midi.events_to_melody(events) == MELODY


def test_off_grid_notes_round_to_the_grid_and_long_silences_are_cut():
    melody, polyphony = midi.to_melody([(60, 0.2, 3.7), (62, 4.4, 5.1), (64, 60.0, 62.0)])
    assert melody == [midi.Note(60, 0, 4), midi.Note(62, 4, 5), midi.Note(64, 60, 62)]
    assert polyphony == 0
    restored = midi.events_to_melody(midi.melody_to_events(melody))
    assert restored[-1] == midi.Note(64, 5 + midi.MAX_REST_STEPS, 7 + midi.MAX_REST_STEPS)


def test_chords_keep_their_top_note_and_count_as_polyphony():
    melody, polyphony = midi.to_melody([(60, 0, 4), (64, 0, 4), (67, 0, 4), (65, 4, 8)])
    assert melody == [midi.Note(67, 0, 4), midi.Note(65, 4, 8)]
    assert polyphony == pytest.approx(0.5)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"not a midi file at all", "not a readable MIDI file"),
        (b"", "not a readable MIDI file"),
        (_midi_bytes([]), "no notes"),
        (_midi_bytes([([(36, 0, 1), (38, 2, 3)], True)]), "drums only"),
        (_midi_bytes([([(60 + i % 3 * 4, i // 3 * 4, i // 3 * 4 + 4) for i in range(12)], False)]), "polyphonic"),
    ],
)
def test_bad_files_give_a_reason(content, reason):
    with pytest.raises(midi.UnreadableMidi, match=reason):
        midi.read_midi(content)


def test_a_folder_skips_bad_files_with_their_reasons_and_fails_when_none_is_good(tmp_path, caplog):
    (tmp_path / "good.mid").write_bytes(_midi_bytes([([(60, 0, 2), (62, 2, 4)], False)]))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "corrupt.MIDI").write_bytes(b"\x00\x01garbage")
    (tmp_path / "drums.mid").write_bytes(_midi_bytes([([(36, 0, 1)], True)]))
    pieces = data.read_midi_folder(tmp_path)
    assert pieces.names == ["good.mid"] and pieces.events[0].tolist() == [60, -2, 62, -2, -1]
    assert "skipped 2 of 3" in caplog.text and "drums only" in caplog.text
    (tmp_path / "good.mid").unlink()
    with pytest.raises(ValueError, match="none of the 2 MIDI files"):
        data.read_midi_folder(tmp_path)


def test_event_ids_fold_pitches_into_range_and_invert():
    events = np.array([-2, -1, data.MIN_PITCH, 60, data.MAX_PITCH, data.MIN_PITCH - 1, data.MAX_PITCH + 1])
    ids = data.events_to_ids(events).numpy()
    assert ids.tolist()[:5] == [data.HOLD_ID, data.NOTE_OFF_ID, data.FIRST_PITCH_ID, data.FIRST_PITCH_ID + 36, 87]
    back = data.ids_to_events(ids).numpy()
    assert back.tolist()[:5] == events.tolist()[:5]
    assert back[5] == data.MIN_PITCH + 11 and back[6] == data.MAX_PITCH - 11  # same pitch class, an octave in


def test_transposition_moves_inputs_and_targets_together_and_stays_in_range():
    targets = tf.constant([data.FIRST_PITCH_ID, data.HOLD_ID, data.FIRST_PITCH_ID + 3, data.END_ID])
    inputs = tf.constant([data.FIRST_CONDITION_ID, data.FIRST_PITCH_ID, data.HOLD_ID, data.FIRST_PITCH_ID + 3])
    shifts = set()
    for seed in range(40):
        moved_inputs, moved_targets = data.transpose(inputs, targets, 5, seed)
        shift = int(moved_targets[0] - targets[0])
        shifts.add(shift)
        assert moved_targets.numpy().tolist() == [4 + shift, data.HOLD_ID, 7 + shift, data.END_ID]
        assert moved_inputs.numpy().tolist() == [data.FIRST_CONDITION_ID, 4 + shift, data.HOLD_ID, 7 + shift]
    assert shifts <= set(range(0, 6)) and len(shifts) > 1  # never below the lowest pitch


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("music_tiny")
    config = from_dict(MusicConfig, {**PRESETS["tiny"], "out_dir": str(workdir), "max_examples": 30})
    metrics = train_and_evaluate(config)
    model = keras.saving.load_model(workdir / "export" / "model.keras")
    return workdir, metrics, model


def test_tiny_folk_run_measures_against_the_ngram(tiny_run):
    _, metrics, _ = tiny_run
    test = metrics["test"]
    assert set(test) == {"nll", "perplexity", "accuracy", "ngram_nll", "ngram_perplexity", "perplexity_ratio_to_ngram"}
    assert test["perplexity"] == pytest.approx(np.exp(test["nll"]))
    assert 0 < test["accuracy"] < 1 and 1 < test["ngram_perplexity"] < 100
    generation = metrics["test_details"]["generation"]
    for source in ("model", "ngram"):
        areas = generation[source]["overlap_area"]
        assert set(areas) == set(measures.melody_features(np.array([60, -2, -1])))
        assert all(0 <= area <= 1.01 for area in areas.values())
        assert 0 < generation[source]["longest_copied_run"]["p50"] <= 256


def test_copied_runs_and_overlap_areas_on_known_melodies():
    rng = np.random.default_rng(0)
    training = [rng.integers(-2, 80, 3000) for _ in range(20)]
    copied = np.concatenate([[81, 81], training[7][500:560], [81]])
    assert measures.longest_copied_runs([copied, np.array([81, 81, 81])], training) == [60, 0]
    # Narrow melodies of varied ranges against wide ones.
    narrow = [rng.integers(55, rng.integers(62, 75), 64) for _ in range(40)]
    wide = [rng.integers(30, rng.integers(90, 110), 64) for _ in range(20)]
    alike = measures.overlap_areas(narrow[:20], narrow[20:])
    unlike = measures.overlap_areas(wide, narrow[20:])
    assert alike["pitch_range"] > 0.5 > unlike["pitch_range"]


def test_saved_model_generates_what_keras_generates_and_continues_a_primer(tiny_run):
    workdir, _, model = tiny_run
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    primer = midi.melody_to_events(MELODY)
    for seed, start in ((1, []), (2, primer)):
        expected = model.generate(32, 1.0, 0, 1.0, seed, start, "folk", 3)["events"].numpy()
        actual = loaded.generate(32, 1.0, 0, 1.0, seed, tf.constant(start, tf.int32), "folk", 3)["events"].numpy()
        np.testing.assert_array_equal(expected, actual)
        assert actual.shape == (3, len(start) + 32)
        np.testing.assert_array_equal(actual[:, : len(start)], np.tile(start, (3, 1)).reshape(3, len(start)))
        assert np.all((actual >= midi.HOLD) & (actual <= data.MAX_PITCH))
    # Unknown conditions play as the corpus.
    np.testing.assert_array_equal(
        loaded.generate(16, 1.0, 0, 1.0, 5, tf.constant([], tf.int32), "nobody", 1)["events"],
        loaded.generate(16, 1.0, 0, 1.0, 5, tf.constant([], tf.int32), "folk", 1)["events"],
    )
    assert loaded.serve(tf.constant([0, 1]))["events"].shape == (2, 128)
    assert_each_weight_stored_once(workdir / "export")


def test_saved_model_scores_like_the_evaluation(tiny_run):
    workdir, _, model = tiny_run
    pieces = data.Pieces(["a", "b"], ["folk", "folk"], [midi.melody_to_events(MELODY), np.array([62, -2, -1])])
    log_probs, lengths, _ = score_pieces(model, data.piece_ids(pieces, model.conditions))
    loaded = tf.saved_model.load(str(workdir / "export" / "saved_model"))
    events = tf.constant([pieces.events[0], np.pad(pieces.events[1], (0, 26))], tf.int32)
    scored = loaded.score(events, tf.constant([29, 3]), tf.constant(["folk", "folk"]))
    np.testing.assert_allclose(scored["log_prob"].numpy(), log_probs, rtol=1e-5)
    assert lengths.tolist() == [30, 4] and np.all(np.isfinite(scored["nll"].numpy()))


def test_generate_command_continues_a_primer_into_midi_and_a_piano_roll(tiny_run, tmp_path):
    workdir, _, _ = tiny_run
    primer = tmp_path / "primer.mid"
    midi.melody_to_midi(MELODY).write(str(primer))
    out = tmp_path / "solo.mid"
    generate.main(
        ["--model", str(workdir / "export"), "--events", "48", "--seed", "1", "--primer", str(primer)]
        + ["--out", str(out)]
    )
    assert midi.read_midi(out)[: len(MELODY)] == MELODY  # two bars of primer hold all of MELODY
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    shell = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", str(workdir / "export"), "--events", "16", "--seed", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shell.returncode == 0, shell.stderr
    assert len(shell.stdout.split()) == 16
    seeds = subprocess.run(
        [sys.executable, "-m", "zoo", "predict", str(workdir / "export"), "3", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeds.returncode == 0, seeds.stderr
    rows = [json.loads(line.split(" -> ", 1)[1]) for line in seeds.stdout.splitlines()]
    assert len(rows) == 2 and all(row["events"] for row in rows)


def test_audio_rendering(tmp_path):
    if not shutil.which("fluidsynth") or not midi.SOUNDFONT.is_file():
        pytest.skip("needs fluidsynth and fluid-soundfont-gm (make system-packages installs them)")
    path = tmp_path / "melody.mid"
    midi.melody_to_midi(MELODY, tempo=120).write(str(path))
    midi.render_audio(path, tmp_path / "melody.wav")
    with wave.open(str(tmp_path / "melody.wav")) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), np.int16)
    assert seconds >= 28 / midi.STEPS_PER_BEAT / 2 and np.abs(samples).max() > 1000  # 28 steps at 120 bpm, audible


@pytest.fixture(scope="module")
def jazz_config(data_dir):
    if not (data_dir / data.WJAZZD_FILE).is_file():
        pytest.skip(f"needs {data_dir / data.WJAZZD_FILE}")
    return from_dict(MusicConfig, {"data_dir": str(data_dir)})


def test_wjazzd_split_is_by_solo_and_conditions_on_performers(jazz_config):
    splits = data.make_splits(jazz_config)
    names = [set(split.names) for split in splits]
    assert sum(len(n) for n in names) == 453 and not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert sum(len(events) for split in splits for events in split.events) == 501_590
    conditions = data.condition_vocabulary(splits.train, "wjazzd")
    assert conditions[0] == "wjazzd" and "JohnColtrane" in conditions


def test_metheny_is_split_by_time_on_note_onsets(jazz_config):
    splits = data.make_splits(from_dict(MusicConfig, {"corpus": "metheny", "data_dir": jazz_config.data.data_dir}))
    parts = [split.events[0] for split in splits]
    assert sum(len(part) for part in parts) == 2619
    assert all(part[0] >= 0 for part in parts[1:])  # each held-out stretch starts on a note


SHIPPED = ROOT / "saved_models" / "music"


def test_shipped_model_generates_the_same_solo_in_keras_and_the_saved_model():
    model = keras.saving.load_model(SHIPPED / "model.keras")
    loaded = tf.saved_model.load(str(SHIPPED / "saved_model"))
    primer = midi.melody_to_events(MELODY)
    for condition in ("JohnColtrane", ""):
        expected = model.generate(64, 0.9, 0, 0.95, 11, primer, condition, 2)["events"].numpy()
        actual = loaded.generate(64, 0.9, 0, 0.95, 11, tf.constant(primer), condition, 2)["events"].numpy()
        np.testing.assert_array_equal(expected, actual)


def test_shipped_model_card_perplexity_is_measured_on_the_test_solos(jazz_config):
    card = json.loads((SHIPPED / "model_card.json").read_text())
    model = keras.saving.load_model(SHIPPED / "model.keras")
    test = data.make_splits(jazz_config).test
    log_probs, lengths, correct = score_pieces(model, data.piece_ids(test, model.conditions))
    assert -log_probs.sum() / lengths.sum() == pytest.approx(card["test_metrics"]["nll"], rel=1e-4)
    assert correct.sum() / lengths.sum() == pytest.approx(card["test_metrics"]["accuracy"], abs=1e-4)
    assert card["test_metrics"]["perplexity_ratio_to_ngram"] <= 0.85
