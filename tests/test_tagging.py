"""Tag schemes, entity spans (Python and graph), the conlleval metric against seqeval, CoNLL files."""

import numpy as np
import pytest
import tensorflow as tf
from seqeval.metrics import classification_report
from seqeval.metrics import f1_score as seqeval_f1

from data_pipelines import tagging
from zoo.metrics import entity_scores, span_scores

IOB1 = [
    "I-ORG",
    "O",
    "I-MISC",
    "O",
    "O",
    "O",
    "I-MISC",
    "O",
    "O",
    "I-PER",
    "I-PER",
    "B-PER",
    "O",
    "I-LOC",
    "I-LOC",
    "B-LOC",
    "I-LOC",
]


def test_iob1_to_iob2_and_bioes():
    assert tagging.to_iob2(IOB1) == (
        [
            "B-ORG",
            "O",
            "B-MISC",
            "O",
            "O",
            "O",
            "B-MISC",
            "O",
            "O",
            "B-PER",
            "I-PER",
            "B-PER",
            "O",
            "B-LOC",
            "I-LOC",
            "B-LOC",
            "I-LOC",
        ]
    )
    assert tagging.to_bioes(IOB1) == (
        [
            "S-ORG",
            "O",
            "S-MISC",
            "O",
            "O",
            "O",
            "S-MISC",
            "O",
            "O",
            "B-PER",
            "E-PER",
            "S-PER",
            "O",
            "B-LOC",
            "E-LOC",
            "B-LOC",
            "E-LOC",
        ]
    )
    for scheme in (tagging.to_iob2, tagging.to_bioes):
        assert tagging.spans(scheme(IOB1)) == tagging.spans(IOB1)
    assert tagging.to_iob2(tagging.to_bioes(IOB1)) == tagging.to_iob2(IOB1)


def test_spans_follow_conlleval_on_ill_formed_tags():
    assert tagging.spans(["I-PER", "I-PER", "O", "E-LOC", "B-PER", "I-LOC", "S-ORG", "I-ORG"]) == [
        ("PER", 0, 1),
        ("LOC", 3, 3),
        ("PER", 4, 4),
        ("LOC", 5, 5),
        ("ORG", 6, 6),
        ("ORG", 7, 7),
    ]
    assert tagging.spans([]) == []
    with pytest.raises(ValueError, match="Malformed"):
        tagging.spans(["X-PER"])


def test_tag_names():
    assert tagging.tag_names(["PER", "LOC"], "iob2") == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert len(tagging.tag_names(["PER", "LOC"], "bioes")) == 9


@pytest.mark.parametrize("scheme", ["iob2", "bioes"])
def test_graph_entity_bounds_equal_python_spans(scheme):
    tags = tagging.tag_names(["LOC", "MISC", "PER"], scheme)
    rng = np.random.default_rng(0)
    tag_ids = rng.integers(0, len(tags), size=(300, 9))
    lengths = rng.integers(0, 10, size=300)
    types, firsts, lasts = tagging.entity_bounds(tf.constant(tag_ids), tf.constant(lengths), tags)
    names = tagging.entity_types(tags)
    iob2 = tagging.iob2_tags(tf.constant(tag_ids), tf.constant(lengths), tags).numpy()
    for row in range(300):
        row_tags = [tags[i] for i in tag_ids[row, : lengths[row]]]
        expected = tagging.spans(row_tags)
        found = list(zip([names[t] for t in types[row].numpy()], firsts[row].numpy(), lasts[row].numpy()))
        assert found == expected
        assert [t.decode() for t in iob2[row, : lengths[row]]] == tagging.to_iob2(row_tags)
        assert (iob2[row, lengths[row] :] == b"").all()


def _random_iob2(rng, count, length):
    tags = tagging.tag_names(["LOC", "MISC", "ORG", "PER"], "iob2")
    # Mostly O, like real data, and freely ill-formed (I- after O, type switches).
    weights = np.array([6.0] + [1.0] * (len(tags) - 1))
    return [list(rng.choice(tags, size=rng.integers(1, length), p=weights / weights.sum())) for _ in range(count)]


def test_entity_scores_equal_seqeval():
    rng = np.random.default_rng(0)
    gold = _random_iob2(rng, 400, 12)
    predicted = [
        [tag if rng.random() < 0.8 else str(rng.choice(["O", "B-PER", "I-PER", "I-LOC"])) for tag in sentence]
        for sentence in gold
    ]
    ours = entity_scores(gold, predicted)
    theirs = classification_report(gold, predicted, output_dict=True, zero_division=0)
    assert ours["micro"]["f1"] == pytest.approx(seqeval_f1(gold, predicted), abs=1e-12)
    for name, scores in ours.items():
        reference = theirs["micro avg" if name == "micro" else name]
        for key in ("precision", "recall", "f1"):
            assert scores[key] == pytest.approx(reference[key if key != "f1" else "f1-score"], abs=1e-12)
        assert scores["support"] == reference["support"]


def test_entity_scores_edge_cases():
    assert entity_scores([["B-PER", "I-PER"]], [["B-PER", "I-PER"]])["micro"]["f1"] == 1.0
    assert entity_scores([["O"]], [["O"]])["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ValueError, match="sentence 0"):
        entity_scores([["O", "O"]], [["O"]])


def test_read_conll(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_text(
        "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\n\nPeter NNP I-NP I-PER\n"
        "-DOCSTART- -X- O O\nBlackburn NNP I-NP I-PER"
    )
    assert tagging.read_conll(path) == [
        (["EU", "rejects"], ["I-ORG", "O"]),
        (["Peter"], ["I-PER"]),
        (["Blackburn"], ["I-PER"]),
    ]


def test_span_scores_match_type_start_and_end():
    gold = [{("PER", 0, 12), ("LOC", 20, 26)}, set()]
    predicted = [{("PER", 0, 12), ("LOC", 20, 25)}, {("ORG", 0, 3)}]
    scores = span_scores(gold, predicted)
    assert scores["micro"] == {"precision": 1 / 3, "recall": 0.5, "f1": 0.4, "support": 2}
    assert scores["PER"]["f1"] == 1.0 and scores["LOC"]["f1"] == 0.0 and scores["ORG"]["support"] == 0
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        span_scores(gold, predicted[:1])
