"""The trigger-word detector beside PocketSphinx keyword spotting, on the same held-out audio.

    python -m benchmarks.trigger_word [--model trigger_word] [--clips 0] [--plot det.png] [--workers 2]

Both hear the exported model's test clips (its card's config: unseen voices, recordings and background kind,
the negative-only hour included), each followed by 0.5 s of silence as the task scores them
(`data.with_silent_tail`; false accepts are per hour of the clips). Ours: the SavedModel's `serve` at the shipped
threshold. PocketSphinx 5 (`pip install pocketsphinx`, its bundled US English model): the trigger as its keyphrase, each
`kws_threshold` of a sweep, a detection at the end of each keyphrase segment; the best threshold by event F1
is reported (chosen on this test audio, which favours PocketSphinx). Real-time factor: compute seconds per
second of audio in this process (ours batched offline; PocketSphinx one clip at a time). Streaming cost:
CPU milliseconds per second of audio fed in 100-ms chunks to the SavedModel's `stream` and to the `.tflite`.
"""

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from data_pipelines import audio  # noqa: E402
from tasks.trigger_word import data, events  # noqa: E402
from tasks.trigger_word.config import TriggerWordConfig  # noqa: E402
from tasks.trigger_word.task import DET_THRESHOLDS, TFLITE_CHUNK_SAMPLES, TFLITE_FILE  # noqa: E402
from zoo import export  # noqa: E402
from zoo.config import from_dict  # noqa: E402

SPHINX_THRESHOLDS = (1e-50, 1e-40, 1e-30, 1e-20, 1e-10)


def test_clips(card, data_dir, count):
    config = from_dict(TriggerWordConfig, card["hyperparameters"])
    if data_dir:
        config.data.data_dir = data_dir
    banks, _ = data.load_banks(config, ["test"])
    indices = data.make_splits(config).test.indices
    if count:
        # Keep the share of negative-only clips.
        keep = np.linspace(0, len(indices) - 1, count).round().astype(int)
        indices = [indices[i] for i in sorted(set(keep))]
    clips = [data.clip_at(config, banks["test"], "test", index) for index in indices]
    samples = [data.with_silent_tail(samples) for samples, _ in clips]
    return config, samples, [data.trigger_ends(segments) for _, segments in clips]


def ours(saved_model, clips, batch_size=32):
    """Detections at the shipped threshold, probabilities, and compute seconds."""
    found, probabilities, started = [], [], time.perf_counter()
    for start in range(0, len(clips), batch_size):
        outputs = saved_model.serve(samples=tf.constant(np.stack(clips[start : start + batch_size])))
        probabilities.append(outputs["probabilities"].numpy())
        for row, count in zip(outputs["event_times"].numpy(), outputs["num_events"].numpy()):
            found.append(row[:count].tolist())
    return found, np.concatenate(probabilities), time.perf_counter() - started


def det_curve(probabilities, ends, seconds, card):
    """The detector's DET points over `DET_THRESHOLDS` on these clips."""
    refractory = round(card["refractory_seconds"] / card["step_seconds"])
    points = []
    for threshold in DET_THRESHOLDS:
        times, counts = events.detect(probabilities, threshold, refractory, card["step_seconds"])
        found = [row[:count].tolist() for row, count in zip(times.numpy(), counts.numpy())]
        points.append({"threshold": threshold, **events.event_scores(found, ends, seconds, data.MATCH_SECONDS)})
    return points


def sphinx_clip(keyphrase, threshold, samples):
    from pocketsphinx import Decoder

    decoder = Decoder(keyphrase=keyphrase, kws_threshold=threshold, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    return [segment.end_frame / 100 for segment in decoder.seg() or []]  # no segment: None


def sphinx(pool, workers, keyphrase, threshold, clips):
    started = time.perf_counter()
    found = list(pool.map(partial(sphinx_clip, keyphrase, threshold), clips, chunksize=8))
    return found, (time.perf_counter() - started) * workers  # compute seconds, the pool's cores counted


def streaming_cost(saved_model, tflite_path, state_size, seconds=60):
    samples = np.random.default_rng(0).standard_normal((1, seconds * audio.SAMPLE_RATE)).astype(np.float32) * 0.1
    chunks = [samples[:, i : i + TFLITE_CHUNK_SAMPLES] for i in range(0, samples.shape[1], TFLITE_CHUNK_SAMPLES)]
    state = tf.zeros([1, state_size])
    started = time.process_time()
    for chunk in chunks:
        state = saved_model.stream(samples=tf.constant(chunk), state=state)["state"]
    cost = {"saved_model_cpu_ms_per_audio_s": (time.process_time() - started) * 1000 / seconds}
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    interpreter.allocate_tensors()
    inputs = {detail["name"]: detail["index"] for detail in interpreter.get_input_details()}
    state_output = next(d["index"] for d in interpreter.get_output_details() if d["shape"][-1] == state_size)
    state = np.zeros((1, state_size), np.float32)
    started = time.process_time()
    for chunk in chunks:
        interpreter.set_tensor(inputs["samples"], chunk)
        interpreter.set_tensor(inputs["state"], state)
        interpreter.invoke()
        state = interpreter.get_tensor(state_output)
    cost["tflite_cpu_ms_per_audio_s"] = (time.process_time() - started) * 1000 / seconds
    return cost


def plot(path, det_curve, sphinx_points):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.5))
    for label, points in (("RNN detector", det_curve), ("PocketSphinx KWS", sphinx_points)):
        points = sorted(points, key=lambda p: p["false_accepts_per_hour"])
        axes.plot(
            [p["false_accepts_per_hour"] for p in points], [p["false_reject_rate"] for p in points], "o-", label=label
        )
    axes.set_xscale("symlog", linthresh=1)
    axes.set_xlabel("false accepts per hour")
    axes.set_ylabel("false-reject rate")
    axes.set_title("DET on the held-out trigger-word test audio")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="trigger_word")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--clips", type=int, default=0, help="test clips to use, spread over the set; 0: all")
    parser.add_argument("--workers", type=int, default=2, help="processes for PocketSphinx")
    parser.add_argument("--plot", default="", help="write the DET curves of both to this PNG")
    args = parser.parse_args(argv)

    predictor = export.load(args.model)
    export_dir, card, saved_model = predictor.path, predictor.card, predictor.saved_model
    config, clips, ends = test_clips(card, args.data_dir, args.clips)
    seconds = config.clip_seconds * len(clips)
    heard = sum(map(len, clips)) / audio.SAMPLE_RATE  # the real-time factors' audio: the tails included
    found, probabilities, compute = ours(saved_model, clips)
    rows = {
        "rnn": {**events.event_scores(found, ends, seconds, data.MATCH_SECONDS), "real_time_factor": compute / heard}
    }
    sweep = []
    # Spawned, not forked: a fork of a process running TensorFlow's thread pools can hang.
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for threshold in SPHINX_THRESHOLDS:
            found, compute = sphinx(pool, args.workers, config.trigger_word, threshold, clips)
            scores = events.event_scores(found, ends, seconds, data.MATCH_SECONDS)
            sweep.append({"kws_threshold": threshold, **scores, "real_time_factor": compute / heard})
            print(json.dumps({key: sweep[-1][key] for key in ("kws_threshold", "f1", "false_accepts_per_hour")}))
    rows["pocketsphinx"] = max(sweep, key=lambda row: row["f1"])
    rows["rnn"].update(streaming_cost(saved_model, export_dir / TFLITE_FILE, card["state_size"]))
    print(f"{len(clips)} test clips, {seconds / 3600:.2f} h of audio, {sum(map(len, ends))} triggers")
    keys = ("f1", "precision", "recall", "false_accepts_per_hour", "false_reject_rate", "real_time_factor")
    print(f"{'':14}" + "".join(f"{key:>24}" for key in keys))
    for name, row in rows.items():
        print(f"{name:14}" + "".join(f"{row[key]:>24.4f}" for key in keys))
    curve = det_curve(probabilities, ends, seconds, card)
    print(json.dumps({"detectors": rows, "pocketsphinx_sweep": sweep, "rnn_det_curve": curve}, indent=2))
    if args.plot:
        plot(args.plot, curve, sweep)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
