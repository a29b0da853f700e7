"""Chinese word segmentation: the only module that imports ``jieba``.

A private ``jieba.Tokenizer`` (not the global one) is built with every rule word added to its
dictionary, so a rule word is always cut as one token ("呼吸困难", "不是急事") and rules match
whole words, not accidental substrings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)  # jieba prints its dictionary loading at DEBUG to stderr


class JiebaSegmenter:
    """``asr.intake.Segmenter`` over jieba's precise mode (no HMM guessing of new words)."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._tokenizer = jieba.Tokenizer()
        for word in sorted(set(extra_words)):
            self._tokenizer.add_word(word)

    def cut(self, text: str) -> list[str]:
        return [token for token in self._tokenizer.cut(text, HMM=False) if token.strip()]
