"""One-sentence latency of an exported NER model against a reference export, in the same process.

    python -m benchmarks.ner_latency --model runs/ner/export [--reference ner] [--data-dir DIR] [--sentences 100]

Each of the first `--sentences` CoNLL-2003 test sentences (its tokens joined by spaces, as raw text) goes to
the `serve` signature of both SavedModels alone, the two models taking turns and swapping who goes first, so
that both see the same machine load. Prints each model's median and 90th-percentile milliseconds per sentence
and the ratio of the medians.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tasks.ner import data as conll  # noqa: E402
from zoo import export  # noqa: E402


def milliseconds(serve, sentence):
    start = time.perf_counter()
    serve(sentences=tf.constant([sentence]))
    return 1000 * (time.perf_counter() - start)


def run(model_dir, reference_dir, data_dir=None, num_sentences=100):
    sentences = [" ".join(tokens) for tokens in conll.load_conll(data_dir).test.tokens[:num_sentences]]
    serves = {
        name: export.load(path).saved_model.signatures[export.ENDPOINT]
        for name, path in (("model", model_dir), ("reference", reference_dir))
    }
    for serve in serves.values():
        serve(sentences=tf.constant(sentences[:1]))
    times = {name: [] for name in serves}
    for index, sentence in enumerate(sentences):
        order = list(serves) if index % 2 == 0 else list(serves)[::-1]
        for name in order:
            times[name].append(milliseconds(serves[name], sentence))
    return {name: {"median_ms": np.median(t), "p90_ms": np.percentile(t, 90)} for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="an export directory or a shipped model's name")
    parser.add_argument("--reference", default="ner")
    parser.add_argument("--data-dir")
    parser.add_argument("--sentences", type=int, default=100)
    args = parser.parse_args(argv)
    results = run(args.model, args.reference, args.data_dir, args.sentences)
    for name, result in results.items():
        print(f"{name:>9}: median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms per sentence")
    print(f"ratio of medians: {results['model']['median_ms'] / results['reference']['median_ms']:.2f}x")


if __name__ == "__main__":
    main()
