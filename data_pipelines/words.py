"""Word-level text processing in the TensorFlow graph: CoNLL-style tokenization with character
offsets, and the features a tagger reads from each word (normalized form, casing, characters).
"""

import tensorflow as tf

# Inserted between tokens by the splitting rules; any U+001F already in the text becomes a space first.
_SEPARATOR = "\x1f"
_GAP = "[ \x1f]"

# Casing classes in the order they are tested; the first that matches the whole word wins.
CASINGS = (
    ("numeric", r"[0-9]+"),
    ("lower", r"\p{Ll}+"),
    ("upper", r"\p{Lu}+"),
    ("title", r"\p{Lu}\p{Ll}+"),
    ("mixed_letters", r"\pL+"),
    ("has_digit", r".*[0-9].*"),
    ("punctuation", r"[\pP\pS]+"),
)
# 0 is padding; each casing class is its index + 1; anything else is the last id.
CASING_VOCAB_SIZE = len(CASINGS) + 2

# Characters are ids 1..128 for ASCII and one shared id for everything else; 0 is padding.
CHAR_VOCAB_SIZE = 130
_NON_ASCII_CHAR = CHAR_VOCAB_SIZE - 1


def _split_rules(sentences):
    """Marks token boundaries with `_SEPARATOR`, only inserting or removing separators."""
    rules = (
        (r"[\s\p{Z}\p{Cc}]", " "),  # one character for one: offsets are unchanged
        (r"([()\[\]{}\";!?%“”«»])", _SEPARATOR + r"\1" + _SEPARATOR),
        (r"([,:])", _SEPARATOR + r"\1" + _SEPARATOR),
        (r"([0-9])\x1f([,:])\x1f([0-9])", r"\1\2\3"),  # 1,000 and 1:54 stay whole
        (r"(\.+)(" + _GAP + "|$)", _SEPARATOR + r"\1\2"),  # a final period or ellipsis
        (r"(^|[ \x1f.])(\pL)\x1f\.", r"\1\2."),  # but initials keep theirs: J. U.S.
        (r"(\pL)('(?:[sSdDmM]|re|ve|ll|RE|VE|LL)|[nN]'[tT])(" + _GAP + "|$)", r"\1" + _SEPARATOR + r"\2\3"),
        (r"\$([0-9])", "$" + _SEPARATOR + r"\1"),
    )
    for pattern, rewrite in rules:
        sentences = tf.strings.regex_replace(sentences, pattern, rewrite)
    return sentences


def valid_utf8(sentences):
    """`sentences` with every invalid UTF-8 byte sequence replaced by U+FFFD."""
    return tf.strings.unicode_transcode(sentences, "UTF-8", "UTF-8", errors="replace")


def split_words(sentences):
    """Splits sentences into tokens the way CoNLL-2003 (Penn Treebank style) tokenized its text.

    Rules: whitespace separates tokens; brackets, quotes, `; ! ? %` are tokens of their own; `,` and
    `:` too, except between digits (`1,000`, `1:54`); a final period or `...` is split off, except
    after a single letter (`J.`, `U.S.`); clitics `'s 're 'm 've 'll 'd n't` are split off
    (`Germany's` -> `Germany 's`); `$` is split from a number that follows it. Hyphens, slashes and
    inner periods stay inside tokens (`1996-08-22`, `Anglo-Dutch`, `3.5`, `U.S.`). Invalid UTF-8
    bytes become U+FFFD first.

    Args:
        sentences: string `(batch,)`.

    Returns:
        `(tokens, starts, ends)`, ragged `(batch, None)`: the token strings and, for each, the
        offsets of its first and one-past-last character (Unicode code points) in
        `valid_utf8(sentences)`, which is the sentence itself when it is valid UTF-8.
    """
    sentences = valid_utf8(sentences)
    marked = tf.strings.unicode_decode(_split_rules(sentences), "UTF-8")
    chars, row_ids, row_splits = marked.flat_values, marked.value_rowids(), marked.row_splits
    inserted = chars == ord(_SEPARATOR)
    in_token = ~inserted & (chars != ord(" "))

    kept = tf.cast(~inserted, tf.int64)
    kept_before = tf.concat([[0], tf.cumsum(kept)], axis=0)
    original_position = kept_before[:-1] - tf.gather(tf.gather(kept_before, row_splits[:-1]), row_ids)

    position = tf.range(tf.size(chars, out_type=tf.int64))
    row_first = position == tf.gather(row_splits[:-1], row_ids)
    row_last = position == tf.gather(row_splits[1:], row_ids) - 1
    previous_in_token = tf.concat([[False], in_token[:-1]], axis=0) & ~row_first
    next_in_token = tf.concat([in_token[1:], [False]], axis=0) & ~row_last
    first = in_token & ~previous_in_token
    last = in_token & ~next_in_token

    nrows = marked.nrows()
    starts = tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(original_position, first), tf.boolean_mask(row_ids, first), nrows
    )
    ends = tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(original_position, last) + 1, tf.boolean_mask(row_ids, last), nrows
    )
    tokens = substrings(sentences, starts, ends)
    return tokens, starts, ends


def substrings(sentences, starts, ends):
    """The substrings `sentences[b][starts[b, i]:ends[b, i]]` (code points) as a ragged string tensor.

    `sentences` must be valid UTF-8 (see `valid_utf8`). Memory grows with the characters, not with tokens times
    characters: the substrings are gathered from the decoded code points, never cut from copies of the sentence.
    """
    chars = tf.strings.unicode_decode(sentences, "UTF-8")
    offsets = tf.gather(chars.row_starts(), starts.value_rowids())
    positions = tf.ragged.range(starts.flat_values + offsets, ends.flat_values + offsets)
    values = tf.strings.unicode_encode(
        positions.with_flat_values(tf.gather(chars.flat_values, positions.flat_values)), "UTF-8"
    )
    return starts.with_flat_values(values)


def normalize_words(tokens):
    """Lower-cased words with every digit replaced by 0: the key into a word vocabulary."""
    return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"[0-9]", "0")


def casing_ids(tokens):
    """int32 casing class of each token (see `CASINGS`); 0 for the empty padding token."""
    ids = tf.fill(tf.shape(tokens), CASING_VOCAB_SIZE - 1)
    for index, (_, pattern) in reversed(list(enumerate(CASINGS))):
        ids = tf.where(tf.strings.regex_full_match(tokens, pattern), index + 1, ids)
    return tf.where(tokens == "", 0, ids)


def char_ids(tokens, max_word_length):
    """int32 `(..., max_word_length)` character ids of each token's first `max_word_length` characters.

    ASCII code point `c` is `c + 1`; every other character shares one id; 0 pads. At least one
    position is kept so that an all-empty batch still has a character axis.
    """
    code_points = tf.strings.unicode_decode(tokens, "UTF-8", errors="replace")
    ids = tf.where(code_points < 128, code_points + 1, _NON_ASCII_CHAR)
    return ids.to_tensor(default_value=0, shape=tokens.shape.as_list() + [max_word_length])
