"""Layers shared by every task."""

from zoo.layers.bigram_hashing import BigramHashing
from zoo.layers.masked_pooling import MaskedGlobalPooling
from zoo.layers.recurrent_stack import RecurrentStack
from zoo.layers.text_to_ids import TextToIds

__all__ = ["BigramHashing", "MaskedGlobalPooling", "RecurrentStack", "TextToIds"]
