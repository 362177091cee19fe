"""Error analysis: is a wrong translation the search's fault or the model's?

    python -m tasks.translation.analyze translation-spa-en [--data-dir DIR] [--beam-width 4] [--alpha 0.6]

For each test pair the model gets wrong (output != reference), it compares the score beam search
maximizes, `log P(y | x) / Ty ** alpha`, of the reference y* and of the output y^:
- score(y*) > score(y^): the model prefers the reference but the search did not find it: a search error;
- otherwise the model itself ranks its wrong output higher: a model error.
References holding a word outside the target vocabulary cannot be produced at all; they are
counted apart. Prints the shares and a few examples of each.
"""

import argparse
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from data_pipelines import text  # noqa: E402
from tasks.translation import data  # noqa: E402
from tasks.translation.model import load_translator  # noqa: E402
from tasks.translation.task import translate_all, translate_function  # noqa: E402

CATEGORIES = ("search", "model", "out_of_vocabulary")


def reference_scores(model, sources, references, alpha, batch_size=256):
    """`log P(reference | source) / Ty ** alpha` for every pair, and whether the reference has a `[UNK]`."""
    score_fn = tf.function(model.sequence_scores, reduce_retracing=True)
    scores, unknown = [], []
    for start in range(0, len(sources), batch_size):
        source_batch = tf.constant(sources[start : start + batch_size])
        reference_batch = tf.constant(references[start : start + batch_size])
        scores += score_fn(source_batch, reference_batch, alpha).numpy().tolist()
        ids = model.target_ids(reference_batch)
        unknown += tf.reduce_any(tf.equal(ids, text.UNKNOWN_ID), axis=1).numpy().tolist()
    return np.array(scores), np.array(unknown)


def analyze(model, sources, references, beam_width, alpha, margin=1e-4):
    """Categorizes the wrong outputs: `{"errors", "total", "shares", "examples"}`."""
    outputs, output_scores = translate_all(translate_function(model), sources, beam_width, alpha)
    wrong = [i for i, (output, reference) in enumerate(zip(outputs, references)) if output != reference]
    ref_scores, unknown = reference_scores(model, [sources[i] for i in wrong], [references[i] for i in wrong], alpha)
    examples = {category: [] for category in CATEGORIES}
    for position, index in enumerate(wrong):
        if unknown[position]:
            category = "out_of_vocabulary"
        elif ref_scores[position] > output_scores[index] + margin:
            category = "search"
        else:
            category = "model"
        examples[category].append(
            {
                "source": sources[index],
                "reference": references[index],
                "output": outputs[index],
                "reference_score": round(float(ref_scores[position]), 4),
                "output_score": round(float(output_scores[index]), 4),
            }
        )
    counts = {category: len(items) for category, items in examples.items()}
    return {
        "total": len(sources),
        "errors": len(wrong),
        "counts": counts,
        "shares": {category: count / max(len(wrong), 1) for category, count in counts.items()},
        "examples": examples,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model name in saved_models/ or an export directory")
    parser.add_argument("--data-dir")
    parser.add_argument("--beam-width", type=int)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--examples", type=int, default=3, help="examples printed per category")
    parser.add_argument("--out", help="write the full analysis (every error) as JSON here")
    args = parser.parse_args(argv)

    model, config = load_translator(args.model)
    if args.data_dir:
        config.data.data_dir = args.data_dir
    beam_width = args.beam_width or config.beam_width
    alpha = config.length_alpha if args.alpha is None else args.alpha
    sources, references = data.load_splits(config).test
    result = analyze(model, sources, references, beam_width, alpha)
    print(
        f"{result['errors']} of {result['total']} test outputs differ from the reference "
        f"(beam {beam_width}, alpha {alpha}):"
    )
    for category in CATEGORIES:
        print(f"  {category:>17}: {result['counts'][category]:5d} ({100 * result['shares'][category]:.1f}%)")
    for category in CATEGORIES:
        for example in result["examples"][category][: args.examples]:
            print(
                f"[{category}] {example['source']!r}\n    reference {example['reference']!r} "
                f"({example['reference_score']})\n    output    {example['output']!r} ({example['output_score']})"
            )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
