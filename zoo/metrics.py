"""Evaluation metrics computed on whole test sets in Python."""

import math
from collections import Counter

import numpy as np

from data_pipelines.tagging import spans


def _scores(correct, predicted, gold):
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def entity_scores(gold_tags, predicted_tags):
    """Entity-level precision, recall and F1 per type and micro-averaged, by the conlleval rules.

    An entity counts as correct only when its type, first and last token all match a gold entity.

    Args:
        gold_tags: a list of sentences, each a list of tags (IOB1, IOB2 or BIOES).
        predicted_tags: the predicted tags, the same shape as `gold_tags`.

    Returns:
        `{"micro": scores, "<TYPE>": scores, ...}` where `scores` holds `precision`, `recall`, `f1`
        (fractions) and `support` (gold entities).
    """
    if len(gold_tags) != len(predicted_tags):
        raise ValueError(f"{len(gold_tags)} gold sentences but {len(predicted_tags)} predicted")
    for index, (gold_sentence, predicted_sentence) in enumerate(zip(gold_tags, predicted_tags)):
        if len(gold_sentence) != len(predicted_sentence):
            raise ValueError(
                f"sentence {index}: {len(gold_sentence)} gold tags but {len(predicted_sentence)} predicted"
            )
    return span_scores([spans(tags) for tags in gold_tags], [spans(tags) for tags in predicted_tags])


def span_scores(gold_spans, predicted_spans):
    """Precision, recall and F1 per type and micro-averaged of entities given as `(type, start, end)`.

    An entity counts as correct when a gold entity of the same sentence has the same type, start and end,
    whatever they index (tokens, characters).

    Args:
        gold_spans: a list of sentences, each an iterable of `(type, start, end)`.
        predicted_spans: the predicted entities of the same sentences.

    Returns:
        As `entity_scores`.
    """
    if len(gold_spans) != len(predicted_spans):
        raise ValueError(f"{len(gold_spans)} gold sentences but {len(predicted_spans)} predicted")
    correct, predicted, gold = Counter(), Counter(), Counter()
    for gold_sentence, predicted_sentence in zip(gold_spans, predicted_spans):
        gold_sentence, predicted_sentence = set(gold_sentence), set(predicted_sentence)
        correct.update(entity_type for entity_type, _, _ in gold_sentence & predicted_sentence)
        predicted.update(entity_type for entity_type, _, _ in predicted_sentence)
        gold.update(entity_type for entity_type, _, _ in gold_sentence)
    results = {"micro": _scores(sum(correct.values()), sum(predicted.values()), sum(gold.values()))}
    for entity_type in sorted(set(gold) | set(predicted)):
        results[entity_type] = _scores(correct[entity_type], predicted[entity_type], gold[entity_type])
    return results


def bits_per_token(log_probs, lengths):
    """Mean bits per predicted token over a corpus: `log_probs` are each sequence's natural log-probability,
    `lengths` the tokens each one predicts (its end included)."""
    return float(-np.sum(np.asarray(log_probs, np.float64)) / np.sum(lengths) / math.log(2))
