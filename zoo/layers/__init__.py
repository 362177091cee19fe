"""Layers shared by every task."""

from zoo.layers.attention import AdditiveAttention
from zoo.layers.bigram_hashing import BigramHashing
from zoo.layers.character_encoder import CharacterEncoder
from zoo.layers.crf import CRF
from zoo.layers.lexicon_match import LexiconMatch
from zoo.layers.log_mel_spectrogram import LogMelSpectrogram
from zoo.layers.masked_pooling import MaskedGlobalPooling
from zoo.layers.ngram_table import NGramTable
from zoo.layers.recurrent_stack import RecurrentStack
from zoo.layers.spectrogram_augment import SpectrogramAugment
from zoo.layers.speech_embedding import SpeechEmbedding
from zoo.layers.text_to_ids import TextToIds
from zoo.layers.time_reduction import TimeReduction
from zoo.layers.word_features import WordFeatures

__all__ = [
    "AdditiveAttention",
    "BigramHashing",
    "CRF",
    "CharacterEncoder",
    "LexiconMatch",
    "LogMelSpectrogram",
    "MaskedGlobalPooling",
    "NGramTable",
    "RecurrentStack",
    "SpectrogramAugment",
    "SpeechEmbedding",
    "TextToIds",
    "TimeReduction",
    "WordFeatures",
]
