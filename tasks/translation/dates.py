"""A seeded generator of human-readable dates in eight locales, paired with their ISO `YYYY-MM-DD` form.

Locale month and weekday names and the locale's own date formats come from Babel (CLDR data). Only
unambiguous formats are drawn: every year has four digits, and the one numeric day/month order per
separator is fixed (`M/d/y` is American, `dd.MM.y` German, `dd-MM-y` Dutch, `y-MM-dd` ISO), so each
input has exactly one correct output.
"""

import datetime

import numpy as np
from babel.dates import format_date

LOCALES = ("en_US", "en_GB", "fr_FR", "es_ES", "de_DE", "it_IT", "pt_BR", "nl_NL")
# Babel's named formats ("full", "long", "medium") and CLDR patterns; "short" is left out because its
# two-digit years and locale-dependent day/month order are ambiguous.
WORD_FORMATS = ("full", "long", "medium", "d MMM y", "d MMMM y", "EEE d MMMM y", "EEEE d MMM y", "MMMM d y")
NUMERIC_FORMATS = (("en_US", "M/d/y"), ("de_DE", "dd.MM.y"), ("nl_NL", "dd-MM-y"), ("en_US", "y-MM-dd"))
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)


def _ordinal(day):
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _english_ordinal(date, variant):
    month, day, year = format_date(date, "MMMM", locale="en"), _ordinal(date.day), date.year
    weekday = format_date(date, "EEEE", locale="en")
    return (
        f"{day} of {month} {year}",
        f"{month} {day}, {year}",
        f"the {day} of {month}, {year}",
        f"{weekday} the {day} of {month} {year}",
    )[variant]


def human_readable(date, rng):
    """One human-readable form of `date`, drawn with `rng` (a `numpy.random.Generator`)."""
    kind = rng.random()
    if kind < 0.7:
        locale = LOCALES[rng.integers(len(LOCALES))]
        return format_date(date, WORD_FORMATS[rng.integers(len(WORD_FORMATS))], locale=locale)
    if kind < 0.85:
        locale, pattern = NUMERIC_FORMATS[rng.integers(len(NUMERIC_FORMATS))]
        return format_date(date, pattern, locale=locale)
    return _english_ordinal(date, rng.integers(4))


def generate(count, seed):
    """`count` (human-readable, ISO) pairs of dates drawn uniformly from 1900-01-01 to 2099-12-31."""
    rng = np.random.default_rng(seed)
    span = (LAST_DAY - FIRST_DAY).days + 1
    days = rng.integers(span, size=count)
    dates = [FIRST_DAY + datetime.timedelta(days=int(day)) for day in days]
    return [human_readable(date, rng) for date in dates], [date.isoformat() for date in dates]


def generate_unseen(count, seed, seen):
    """Like `generate`, keeping only inputs absent from the set `seen` (drawing more until `count`)."""
    sources, targets = [], []
    batch_seed = seed
    while len(sources) < count:
        for source, target in zip(*generate(count, batch_seed)):
            if source not in seen and len(sources) < count:
                sources.append(source)
                targets.append(target)
        batch_seed += 1_000_003
    return sources, targets


def date_splits(train_size, validation_size, test_size, seed=0):
    """Train, validation and test pairs, each generated from its own seed.

    Validation and test inputs never occur in train, and test inputs never occur in validation.
    """
    train = generate(train_size, seed)
    seen = set(train[0])
    validation = generate_unseen(validation_size, seed + 1, seen)
    test = generate_unseen(test_size, seed + 2, seen | set(validation[0]))
    return {"train": train, "validation": validation, "test": test}
