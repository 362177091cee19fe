"""Detect the trigger word in a recording, or live in a raw PCM stream.

    python -m tasks.trigger_word.detect in.wav --out out.wav   # times printed, a chime after each detection
    python -m tasks.trigger_word.detect in.wav --plot in.png   # waveform, spectrogram, probability, detections
    arecord -f S16_LE -r 16000 -c 1 -t raw | python -m tasks.trigger_word.detect --stdin

Any file librosa reads, at any rate and channel count, is resampled to 16 kHz and mixed down. `--stdin` reads
raw 16-bit little-endian 16-kHz mono PCM, feeds the export's `stream` endpoint chunk by chunk, and prints each
detection as it happens.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from data_pipelines import audio, sources  # noqa: E402
from zoo import export  # noqa: E402

CHUNK_SECONDS = 0.1


def chime():
    """The course's chime where the data directory has it, else a generated two-tone one."""
    found = sources.find_local(["trigger_word/chime.wav"])
    if found:
        return audio.read_audio(found[0])
    time = np.arange(int(0.3 * audio.SAMPLE_RATE)) / audio.SAMPLE_RATE
    tones = np.where(time < 0.15, np.sin(2 * np.pi * 880 * time), np.sin(2 * np.pi * 1320 * time))
    return (0.5 * tones * np.exp(-8 * (time % 0.15))).astype(np.float32)


def with_chimes(samples, times, sound):
    """`samples` with `sound` mixed in at each time (seconds), clipped to [-1, 1]."""
    mixed = np.concatenate([samples, np.zeros(len(sound), np.float32)])
    for time in times:
        start = int(time * audio.SAMPLE_RATE)
        mixed[start : start + len(sound)] += sound[: len(mixed) - start]
    return np.clip(mixed[: len(samples)], -1.0, 1.0)


def plot(path, samples, probabilities, times, threshold, step_seconds, title=""):
    """One PNG: the waveform, the log-mel spectrogram and the probability per step, detections marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.layers import LogMelSpectrogram

    seconds = len(samples) / audio.SAMPLE_RATE
    features = LogMelSpectrogram()(samples[np.newaxis])[0].numpy().T if len(samples) >= 400 else np.zeros((40, 0))
    figure, (wave, spectrum, curve) = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
    wave.plot(np.arange(len(samples)) / audio.SAMPLE_RATE, samples, linewidth=0.3)
    wave.set_ylabel("sample")
    spectrum.imshow(features, origin="lower", aspect="auto", extent=(0, seconds, 0, features.shape[0]))
    spectrum.set_ylabel("mel band")
    curve.plot((np.arange(len(probabilities)) + 1) * step_seconds, probabilities)
    curve.axhline(threshold, color="gray", linestyle="--", linewidth=0.8)
    curve.set_ylim(0, 1)
    curve.set_ylabel("P(trigger)")
    curve.set_xlabel("seconds")
    for axes in (wave, spectrum, curve):
        for time in times:
            axes.axvline(time, color="red", linewidth=1)
    wave.set_title(title or f"{len(times)} detection(s)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


class StreamDetector:
    """Detections in a live stream, by the rule of the offline `serve` (threshold, rising edge, refractory gap)."""

    def __init__(self, saved_model, card):
        import tensorflow as tf

        self.saved_model = saved_model
        self.threshold = card["threshold"]
        self.refractory = card["refractory_seconds"]
        self.step = card["step_seconds"]
        self.state = tf.zeros([1, card["state_size"]])
        self.steps = 0
        self.previous = 0.0
        self.last_event = -np.inf

    def feed(self, samples):
        """The detection times (seconds from the stream's start) that `samples` complete."""
        import tensorflow as tf

        outputs = self.saved_model.stream(samples=tf.constant(samples[np.newaxis], tf.float32), state=self.state)
        self.state = outputs["state"]
        times = []
        for probability in outputs["probabilities"].numpy()[0]:
            self.steps += 1
            time = self.steps * self.step
            if probability >= self.threshold > self.previous and time - self.last_event >= self.refractory - 1e-9:
                times.append(time)
                self.last_event = time
            self.previous = probability
        return times


def detect_file(predictor, path):
    """`(samples, probabilities, detection times)` of one audio file."""
    samples = audio.read_audio(path)
    outputs = predictor.saved_model.serve(samples=samples[np.newaxis])
    count = int(outputs["num_events"][0])
    return samples, outputs["probabilities"].numpy()[0], outputs["event_times"].numpy()[0][:count].tolist()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tasks.trigger_word.detect", description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="*", help="audio files")
    parser.add_argument("--model", default="trigger_word", help="a name in saved_models/ or an export directory")
    parser.add_argument("--out", default="", help="with one input: write it with a chime after each detection")
    parser.add_argument("--plot", default="", help="with one input: a PNG of waveform, spectrogram and probability")
    parser.add_argument("--stdin", action="store_true", help="read raw 16-bit 16-kHz mono PCM from standard input")
    args = parser.parse_args(argv)
    if not args.inputs and not args.stdin:
        parser.error("give audio files, or --stdin")
    if (args.out or args.plot) and len(args.inputs) != 1:
        parser.error("--out and --plot need exactly one input file")
    predictor = export.load(args.model)
    if args.stdin:
        detector = StreamDetector(predictor.saved_model, predictor.card)
        chunk_bytes = 2 * int(CHUNK_SECONDS * audio.SAMPLE_RATE)
        while data := sys.stdin.buffer.read(chunk_bytes):
            for time in detector.feed(audio.pcm16_to_float(data)):
                print(json.dumps({"detection_s": round(time, 2)}), flush=True)
        return
    for path in args.inputs:
        try:
            samples, probabilities, times = detect_file(predictor, path)
        except audio.UnreadableAudio as error:
            sys.exit(str(error))
        print(
            json.dumps(
                {
                    "file": path,
                    "seconds": round(len(samples) / audio.SAMPLE_RATE, 2),
                    "detections_s": [round(t, 2) for t in times],
                }
            )
        )
        if args.out:
            audio.write_wav(args.out, with_chimes(samples, times, chime()))
            print(f"wrote {args.out}")
        if args.plot:
            card = predictor.card
            plot(args.plot, samples, probabilities, times, card["threshold"], card["step_seconds"], path)
            print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
