"""NER scored from the export on raw text, as an app uses it.

    python -m tasks.ner.raw_text saved_models/ner [--data-dir DIR] [--split test] [--card]

Each sentence's tokens are joined by single spaces and go through the SavedModel's `serve` signature, which
tokenizes them itself; an entity counts as correct when its type and character offsets match a gold
entity's. Where the export's tokenizer splits a sentence as CoNLL did, this is the score on gold tokens;
where it splits otherwise, the entities it cannot reproduce count as errors. `--card` records the scores in
the export's model card as `<split>_metrics_raw_text`.
"""

import argparse
import itertools
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from data_pipelines import tagging  # noqa: E402
from tasks.ner import data as conll  # noqa: E402
from zoo import export, metrics  # noqa: E402

BATCH_SIZE = 256


def gold_entities(tokens, tags):
    """The `tokens` joined by single spaces, and the entities of `tags` as `(type, start, end)` character
    offsets into that text (end exclusive)."""
    starts = list(itertools.accumulate((len(token) + 1 for token in tokens[:-1]), initial=0))
    entities = {
        (entity_type, starts[first], starts[last] + len(tokens[last]))
        for entity_type, first, last in tagging.spans(tags)
    }
    return " ".join(tokens), entities


def predicted_entities(serve, texts):
    """`(type, start, end)` of the entities the `serve` signature finds in each of `texts`."""
    found = []
    for first in range(0, len(texts), BATCH_SIZE):
        outputs = {
            name: value.numpy()
            for name, value in serve(sentences=tf.constant(texts[first : first + BATCH_SIZE])).items()
        }
        for row, count in enumerate(outputs["num_entities"]):
            found.append(
                {
                    (entity_type.decode("utf-8"), int(start), int(end))
                    for entity_type, start, end in zip(
                        outputs["entity_type"][row, :count],
                        outputs["entity_start"][row, :count],
                        outputs["entity_end"][row, :count],
                    )
                }
            )
    return found


def scores(export_dir, sentences):
    """`metrics.span_scores` of the export at `export_dir` on `sentences` (`conll.Sentences`) as raw text."""
    serve = export.load(export_dir).saved_model.signatures[export.ENDPOINT]
    texts, gold = zip(*map(gold_entities, sentences.tokens, sentences.tags))
    return metrics.span_scores(gold, predicted_entities(serve, list(texts)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", help="an export directory or a shipped model's name")
    parser.add_argument("--data-dir")
    parser.add_argument("--split", choices=["validation", "test"], default="test")
    parser.add_argument("--card", action="store_true", help="record the scores in the export's model card")
    args = parser.parse_args(argv)
    result = scores(args.export_dir, getattr(conll.load_conll(args.data_dir), args.split))
    print(json.dumps(result, indent=2))
    if args.card:
        micro = {name: result["micro"][name] for name in ("f1", "precision", "recall")}
        export.update_card(export.resolve(args.export_dir), {f"{args.split}_metrics_raw_text": micro})


if __name__ == "__main__":
    main()
