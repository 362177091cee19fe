"""IMDB movie-review sentiment: many-to-one."""
