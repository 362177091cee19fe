"""Train, validation and test: the one shape every task's raw examples come in."""

from typing import Any, NamedTuple


class Splits(NamedTuple):
    """A data set's three splits; each is a task's own NamedTuple of parallel lists (e.g. texts and labels)."""

    train: Any
    validation: Any
    test: Any

    def sizes(self):
        """`{split: examples}`, counted on each split's first field."""
        return {name: len(split[0]) for name, split in self._asdict().items()}

    def head(self, count):
        """Every split cut to its first `count` examples (smoke runs); 0 keeps everything."""
        if not count:
            return self
        return Splits(*(type(split)(*(field[:count] for field in split)) for split in self))
