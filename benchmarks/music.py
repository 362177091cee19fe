"""Music model speed: training throughput and generation, in-graph sampling against a Python loop.

    python -m benchmarks.music [--model music] [--solos 1,16] [--events 256] [--repeats 3]

Generation: the same model and the same greedy choice (top_k 1, so every way must give the same events)
through `MelodyModel.generate` in a `tf.function` (the sampling loop inside the graph, as in the
SavedModel), against a Python loop that calls the model's one-event step eagerly and picks the event in
NumPy. Training: events per second of one optimizer step on random windows, for the shipped batch and
window sizes and for others, as a ratio to the shipped ones. Everything runs in this process.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tasks.music.model  # noqa: E402, F401  (registers MelodyModel)
from tasks.music import data  # noqa: E402
from zoo import export  # noqa: E402


def python_loop(model, solos, events):
    """Greedy generation from the corpus condition, one eager model step per event."""
    state = model.zero_state(solos)
    token = tf.fill([solos], data.FIRST_CONDITION_ID)
    chosen = []
    for _ in range(events):
        log_probs, state = model.step(token, state)
        token = tf.constant(np.argmax(log_probs.numpy(), axis=-1), tf.int32)
        chosen.append(token.numpy())
    return data.ids_to_events(np.stack(chosen, axis=1)).numpy()


def best_seconds(function, repeats):
    function()  # traces, warms caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def training_events_per_second(model, batch_size, window, repeats):
    model = model.__class__.from_config(model.get_config())
    model.compile(
        keras.optimizers.AdamW(2e-3, clipnorm=5.0),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    inputs = rng.integers(data.FIRST_PITCH_ID, data.FIRST_CONDITION_ID, (batch_size, window)).astype(np.int32)
    targets = np.roll(inputs, -1, axis=1)
    seconds, _ = best_seconds(lambda: model.train_on_batch(inputs, targets), repeats)
    return batch_size * window / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="music", help="a name in saved_models/ or an export directory")
    parser.add_argument("--solos", default="1,16", help="batch sizes of generation, comma-separated")
    parser.add_argument("--events", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    directory = export.resolve(args.model)
    model = keras.saving.load_model(directory / "model.keras")
    config = export.load(args.model).card["hyperparameters"]

    print(f"generation of {args.events} events, greedy (top_k 1): events per second")
    print(f"{'solos':>6} {'in-graph':>10} {'python loop':>12} {'ratio':>7}")
    generate = tf.function(lambda solos: model.generate(args.events, 1.0, 1, 1.0, 0, [], "", solos))
    for solos in (int(value) for value in args.solos.split(",")):
        graph_seconds, graph_events = best_seconds(
            lambda solos=solos: generate(tf.constant(solos))["events"].numpy(), args.repeats
        )
        loop_seconds, loop_events = best_seconds(
            lambda solos=solos: python_loop(model, solos, args.events), args.repeats
        )
        np.testing.assert_array_equal(graph_events, loop_events)
        graph_rate, loop_rate = solos * args.events / graph_seconds, solos * args.events / loop_seconds
        print(f"{solos:>6} {graph_rate:>10.0f} {loop_rate:>12.0f} {graph_rate / loop_rate:>6.1f}x")

    shipped = (config["data"]["batch_size"], config["window"])
    print(f"\ntraining: events per second of one step (ratio to the shipped batch {shipped[0]}, window {shipped[1]})")
    reference = training_events_per_second(model, *shipped, args.repeats)
    for batch_size, window in [shipped, (shipped[0] * 2, shipped[1]), (shipped[0], shipped[1] * 2), (8, 64)]:
        rate = reference if (batch_size, window) == shipped else None
        rate = rate or training_events_per_second(model, batch_size, window, args.repeats)
        print(f"  batch {batch_size:>3}, window {window:>4}: {rate:>8.0f} events/s  {rate / reference:.2f}x")


if __name__ == "__main__":
    main()
