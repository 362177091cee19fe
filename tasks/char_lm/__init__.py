"""Character-level language model: scores any string and samples new ones (one-to-many)."""
