"""NER ablation: CRF vs softmax output, with vs without character features, with lexicon features, with word
vectors learned from the project's text, and an ensemble, on CoNLL-2003 test.

    python -m benchmarks.ner_ablation --data-dir DIR [--epochs 15] [--out-dir runs/ner_ablation]
        [--variants NAME ...] [--word-vectors runs/word_vectors.npz] [--card saved_models/ner]

Each variant is the default `NerConfig` with one or more parts swapped, trained with the same seed and
epochs, selected on valid F1 and scored on test with the conlleval rules. A variant whose run directory
(`OUT_DIR/NAME/export`) already holds an exported model is read from its model card, not trained again, so an
interrupted benchmark goes on where it stopped. The word vectors are made by `tasks.ner.word_vectors` when
the file is missing. `ensemble` averages the CRF potentials of the trained CRF variants named in `ENSEMBLE`
(`tasks.ner.model.average_taggers`). `--card` adds the table to the model card of an export as `ablation`.
"""

import argparse
import json
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tasks.ner import data as conll  # noqa: E402
from tasks.ner import word_vectors  # noqa: E402
from tasks.ner.config import NerConfig  # noqa: E402
from tasks.ner.model import average_taggers  # noqa: E402
from tasks.ner.task import predict_tags  # noqa: E402
from tasks.ner.train import train_and_evaluate  # noqa: E402
from zoo import export, metrics  # noqa: E402
from zoo.config import from_dict  # noqa: E402

VARIANTS = {
    "crf+chars": {},
    "softmax+chars": {"output_layer": "softmax"},
    "crf, no chars": {"char_encoder": "none"},
    "softmax, no chars": {"output_layer": "softmax", "char_encoder": "none"},
    "crf+chars+lexicons": {"lexicons": True},
    # True stands for the word-vectors file of the run; 20,000 of its words that CoNLL train lacks join the
    # vocabulary in these two rows, none in the last.
    "crf+chars+vectors": {"word_vectors": True, "max_vector_words": 20_000},
    "crf+chars+lexicons+vectors": {"lexicons": True, "word_vectors": True, "max_vector_words": 20_000},
    "crf+chars+lexicons+vectors, train words only": {"lexicons": True, "word_vectors": True},
}
ENSEMBLE = ("crf+chars", "crf+chars+lexicons", "crf+chars+vectors", "crf+chars+lexicons+vectors")


def run_dir(out_dir, name):
    return Path(out_dir) / re.sub(r"[,+ ]+", "-", name)


def train_variant(name, data_dir, epochs, out_dir, vectors_path):
    overrides = dict(VARIANTS[name])
    if overrides.get("word_vectors"):
        overrides["word_vectors"] = str(vectors_path)
    workdir = run_dir(out_dir, name)
    if not (workdir / "export" / export.CARD).is_file():
        config = from_dict(NerConfig, {"data_dir": data_dir, "epochs": epochs, "out_dir": str(workdir), **overrides})
        train_and_evaluate(config, command=f"python -m benchmarks.ner_ablation --epochs {epochs}")
    card = export.read_card(workdir / "export")
    return {
        "test_f1": card["test_metrics"]["f1"],
        "validation_f1": card["validation_metrics"]["f1"],
        "epochs": card["hyperparameters"]["epochs"],
        "overrides": overrides,
        "training_time_s": card["training_time_s"],
    }


def evaluate_ensemble(data_dir, out_dir, members=ENSEMBLE):
    """Validation and test F1 of the average of the members' exported taggers, on the gold tokenization."""
    ensemble = average_taggers(
        [keras.saving.load_model(run_dir(out_dir, name) / "export" / "model.keras") for name in members]
    )
    config = from_dict(NerConfig, {"data_dir": data_dir})
    splits = conll.make_splits(config)
    boundaries = conll.length_boundaries(splits.train, config)
    f1 = {}
    for split in ("validation", "test"):
        dataset = conll.make_dataset(getattr(splits, split), config, boundaries, training=False)
        f1[split] = metrics.entity_scores(*predict_tags(ensemble, dataset, conll.tag_names(config)))["micro"]["f1"]
    return {"test_f1": f1["test"], "validation_f1": f1["validation"], "members": list(members)}


def run(data_dir, epochs, out_dir, variants=tuple(VARIANTS) + ("ensemble",), vectors_path="runs/word_vectors.npz"):
    if any(VARIANTS.get(name, {}).get("word_vectors") for name in variants) and not Path(vectors_path).is_file():
        word_vectors.main(["--out", str(vectors_path)] + (["--data-dir", data_dir] if data_dir else []))
    results = {}
    for name in variants:
        if name == "ensemble":
            for member in ENSEMBLE:
                train_variant(member, data_dir, epochs, out_dir, vectors_path)
            results[name] = evaluate_ensemble(data_dir, out_dir)
        else:
            results[name] = train_variant(name, data_dir, epochs, out_dir, vectors_path)
        print(json.dumps({name: results[name]}), flush=True)
    return results


def add_to_card(export_dir, results, command):
    earlier = export.read_card(export_dir).get("ablation", {}).get("results", {})
    export.update_card(export_dir, {"ablation": {"command": command, "results": {**earlier, **results}}})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out-dir", default="runs/ner_ablation")
    names = list(VARIANTS) + ["ensemble"]
    parser.add_argument("--variants", nargs="+", choices=names, default=names)
    parser.add_argument("--word-vectors", default="runs/word_vectors.npz", help="made here when missing")
    parser.add_argument("--card", help="an export directory whose model card gets the results (merged with its table)")
    args = parser.parse_args(argv)
    results = run(args.data_dir, args.epochs, args.out_dir, args.variants, args.word_vectors)
    for name, result in results.items():
        print(f"{name:>26}: test F1 {100 * result['test_f1']:.2f}  valid F1 {100 * result['validation_f1']:.2f}")
    if args.card:
        add_to_card(args.card, results, f"python -m benchmarks.ner_ablation --epochs {args.epochs}")


if __name__ == "__main__":
    main()
