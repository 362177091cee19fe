"""Translation: an attention encoder-decoder for generated dates and Anki sentence pairs."""
