"""Detect the trigger word in a recording, or live in a raw PCM stream.

    python -m tasks.trigger_word.detect in.wav --out out.wav   # times printed, a chime after each detection
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
    samples = audio.read_audio(path)
    outputs = predictor.saved_model.serve(samples=samples[np.newaxis])
    count = int(outputs["num_events"][0])
    return samples, outputs["event_times"].numpy()[0][:count].tolist()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tasks.trigger_word.detect", description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="*", help="audio files")
    parser.add_argument("--model", default="trigger_word", help="a name in saved_models/ or an export directory")
    parser.add_argument("--out", default="", help="with one input: write it with a chime after each detection")
    parser.add_argument("--stdin", action="store_true", help="read raw 16-bit 16-kHz mono PCM from standard input")
    args = parser.parse_args(argv)
    if not args.inputs and not args.stdin:
        parser.error("give audio files, or --stdin")
    if args.out and len(args.inputs) != 1:
        parser.error("--out needs exactly one input file")
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
            samples, times = detect_file(predictor, path)
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


if __name__ == "__main__":
    main()
