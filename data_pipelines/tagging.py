"""Sequence-labelling building blocks: CoNLL files, tag schemes and entity spans.

Tags are strings `PREFIX-TYPE` (`B-PER`) or `O`. The schemes:
- IOB1 (CoNLL-2003 as distributed): `I-X` opens an entity unless it follows another `X` entity;
  `B-X` appears only where an `X` entity starts right after another `X` entity.
- IOB2: every entity opens with `B-X` and continues with `I-X`.
- BIOES: single-token entities are `S-X`; longer ones are `B-X I-X ... E-X`.
"""

OUTSIDE = "O"
DOCSTART = "-DOCSTART-"


def read_conll(path, tag_column=-1):
    """Sentences of a CoNLL-format file: `(tokens, tags)` pairs, `-DOCSTART-` lines skipped.

    One token per line with space-separated columns (the token first, the tag in `tag_column`);
    a blank line ends a sentence.
    """
    sentences, tokens, tags = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            columns = line.split()
            if not columns or columns[0] == DOCSTART:
                if tokens:
                    sentences.append((tokens, tags))
                tokens, tags = [], []
                continue
            tokens.append(columns[0])
            tags.append(columns[tag_column])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def split_tag(tag):
    """`"B-PER"` -> `("B", "PER")`; `"O"` -> `("O", None)`."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, _, entity_type = tag.partition("-")
    if prefix not in "BIES" or not entity_type:
        raise ValueError(f"Malformed tag {tag!r}: expected O or B-/I-/E-/S-<type>")
    return prefix, entity_type


def spans(tags):
    """Entities as `(type, first, last)` token indices (inclusive), by the conlleval rules.

    Accepts IOB1, IOB2 or BIOES tags, including ill-formed sequences as a model may predict them:
    an entity opens at `B-`/`S-`, or at `I-`/`E-` that does not continue an entity of its type; it
    closes before any tag that does not continue it, and after `E-`/`S-`.
    """
    found = []
    start = entity_type = None
    for index, tag in enumerate(tags):
        prefix, tag_type = split_tag(tag)
        continues = entity_type is not None and prefix in "IE" and tag_type == entity_type
        if entity_type is not None and not continues:
            found.append((entity_type, start, index - 1))
            entity_type = None
        if prefix != OUTSIDE and not continues:
            start, entity_type = index, tag_type
        if prefix in "ES" and entity_type is not None:
            found.append((entity_type, start, index))
            entity_type = None
    if entity_type is not None:
        found.append((entity_type, start, len(tags) - 1))
    return found


def to_bioes(tags):
    """BIOES tags with the entities of `tags` (any scheme `spans` reads)."""
    converted = [OUTSIDE] * len(tags)
    for entity_type, first, last in spans(tags):
        if first == last:
            converted[first] = "S-" + entity_type
            continue
        converted[first] = "B-" + entity_type
        converted[first + 1 : last] = ["I-" + entity_type] * (last - first - 1)
        converted[last] = "E-" + entity_type
    return converted


def to_iob2(tags):
    """IOB2 tags with the entities of `tags` (any scheme `spans` reads)."""
    converted = [OUTSIDE] * len(tags)
    for entity_type, first, last in spans(tags):
        converted[first] = "B-" + entity_type
        converted[first + 1 : last + 1] = ["I-" + entity_type] * (last - first)
    return converted


def tag_names(entity_types, scheme="bioes"):
    """Every tag of `scheme` (`"iob2"` or `"bioes"`) over `entity_types`, `O` first."""
    prefixes = {"iob2": "BI", "bioes": "BIES"}[scheme]
    return [OUTSIDE] + [f"{prefix}-{entity_type}" for entity_type in sorted(entity_types) for prefix in prefixes]


def _entity_positions(tag_ids, lengths, tags):
    """Per step of `(batch, time)` tag ids: entity type index, and whether the step is inside an
    entity, opens one, or closes one, by the rules of `spans`."""
    import tensorflow as tf

    prefixes, types = zip(*(split_tag(tag) for tag in tags))
    names = entity_types(tags)
    prefix = tf.gather(tf.constant(["OBIES".index(p) for p in prefixes]), tag_ids)
    entity_type = tf.gather(tf.constant([names.index(t) if t else -1 for t in types]), tag_ids)
    prefix = tf.where(tf.sequence_mask(lengths, tf.shape(tag_ids)[1]), prefix, 0)
    inside = prefix != 0
    is_begin_or_inside, is_inside_or_end = (prefix == 1) | (prefix == 2), (prefix == 2) | (prefix == 3)

    # After B- or I- an entity of that type is open; after O, E- or S- none is.
    open_type = tf.where(is_begin_or_inside, entity_type, -1)
    open_before = tf.pad(open_type[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    continues = is_inside_or_end & (open_before == entity_type)
    continued_after = tf.pad(continues[:, 1:], [[0, 0], [0, 1]])
    first = inside & ~continues
    last = inside & (~is_begin_or_inside | ~continued_after)
    return entity_type, inside, first, last


def entity_bounds(tag_ids, lengths, tags):
    """The graph version of `spans` for a batch of tag ids.

    Args:
        tag_ids: int `(batch, time)`, indices into `tags`.
        lengths: int `(batch,)`, the real steps of each row; later steps are ignored.
        tags: the tag names (any scheme `spans` reads).

    Returns:
        `(types, firsts, lasts)`, ragged int64 `(batch, None)`: each entity's index into
        `entity_types(tags)` and its first and last token index (inclusive), in order.
    """
    import tensorflow as tf

    entity_type, _, first, last = _entity_positions(tag_ids, lengths, tags)
    nrows = tf.shape(tag_ids, out_type=tf.int64)[0]
    first_at, last_at = tf.where(first), tf.where(last)
    rows = first_at[:, 0]

    def ragged(values):
        return tf.RaggedTensor.from_value_rowids(values, rows, nrows)

    return (
        ragged(tf.cast(tf.gather_nd(entity_type, first_at), tf.int64)),
        ragged(first_at[:, 1]),
        ragged(last_at[:, 1]),
    )


def iob2_tags(tag_ids, lengths, tags):
    """The graph version of `to_iob2`: string `(batch, time)` IOB2 tags of the entities `entity_bounds`
    finds in a batch of tag ids, `""` past each row's length."""
    import tensorflow as tf

    entity_type, inside, first, _ = _entity_positions(tag_ids, lengths, tags)
    names = tf.constant(entity_types(tags) + [""])
    named = tf.gather(names, tf.where(inside, entity_type, len(names) - 1))
    iob2 = tf.where(first, "B-" + named, tf.where(inside, "I-" + named, OUTSIDE))
    return tf.where(tf.sequence_mask(lengths, tf.shape(tag_ids)[1]), iob2, "")


def entity_types(tags):
    """The sorted entity types named in `tags`."""
    return sorted({split_tag(tag)[1] for tag in tags} - {None})
