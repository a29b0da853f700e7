"""Text of an intake: joined, cut into clauses, searched for words and counts of people.

A transcript has no punctuation guaranteed (Vosk gives none), so clauses are cut at
punctuation *and* before words that open a new clause in speech (但是, 现在, 刚才, 结果...):
"我爸去年中风过现在又突然说不出话了" is two clauses, and the past marker of the first does
not govern the second. Matching is on characters, not on jieba's tokens: dialect and spoken
phrases ("气都倒不上来", "整不醒") are not in any dictionary, and a cue word is found inside
whatever jieba would have made of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_BREAKS = re.compile(r"[，。！？；：、,.!?;:…—\s\"'“”‘’（）()]+")

_DIGITS = {"零": 0, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_DIGITS.update({"八": 8, "九": 9, "几": 3})
_NUMBER = r"(?:\d+|[零一两二三四五六七八九十百千几]+|好几十|好几)"
_COUNT = re.compile(
    rf"(?P<n>{_NUMBER})(?P<more>来|多|余|几)?(?P<unit>个|名|位|口|号|人|家|户|桌|只|头|批)"
    r"(?!小时|钟头|月|星期|礼拜|周|年|天|晚上|钟|地方|医院|科|项|部门|药|菜|问题)"
)


def normalise(text: str) -> str:
    """Join the space-separated words of a Vosk transcript ("我 爸 昏迷 了" → "我爸昏迷了")."""
    return _SPACE_BETWEEN_CJK.sub("", text.strip())


def clauses(text: str, openers: Iterable[str]) -> list[str]:
    """``text`` cut at punctuation and before each clause-opening word (not at its start)."""
    pieces = [p for p in _BREAKS.split(text) if p]
    words = sorted(set(openers), key=len, reverse=True)
    if not words:
        return pieces
    opener = re.compile("|".join(re.escape(w) for w in words))
    out: list[str] = []
    for piece in pieces:
        start = 0
        for match in opener.finditer(piece):
            if match.start() - start >= 2:  # a clause of one character is not one
                out.append(piece[start : match.start()])
                start = match.start()
        out.append(piece[start:])
    return out


@dataclass(frozen=True)
class Hit:
    word: str
    start: int
    negated: bool = False


def find(clause: str, words: Iterable[str], negations: Sequence[str], window: int) -> list[Hit]:
    """Every word of ``words`` in ``clause``, longest first and not overlapping a longer hit,
    each marked negated when a negation word ends at most ``window`` characters before it."""
    taken: list[tuple[int, int]] = []
    hits: list[Hit] = []
    for word in sorted(set(words), key=len, reverse=True):
        begin = clause.find(word)
        while begin >= 0:
            end = begin + len(word)
            if all(end <= s or begin >= e for s, e in taken):
                taken.append((begin, end))
                hits.append(Hit(word, begin, _negated(clause, begin, negations, window)))
            begin = clause.find(word, begin + 1)
    return sorted(hits, key=lambda h: h.start)


def _negated(clause: str, begin: int, negations: Sequence[str], window: int) -> bool:
    before = clause[max(0, begin - window - 2) : begin]
    for word in negations:
        at = before.rfind(word)
        if at >= 0 and len(before) - (at + len(word)) <= window:
            return True
    return False


def count_value(number: str, more: str | None) -> int:
    """'二十' → 20, '七八' → 7, '十几' → 12, '几十' → 30, '好几' → 4, '三十多' → 30."""
    if number.isdigit():
        return int(number)
    if number.startswith("好几"):
        return 40 if number.endswith("十") else 4
    value = _chinese(number)
    if more == "几" and value >= 10:
        value += 2
    return value


def _chinese(number: str) -> int:
    if "百" in number or "千" in number:
        return 100
    if "十" in number:
        head, _, tail = number.partition("十")
        tens = _DIGITS.get(head[-1], 1) if head else 1
        units = _DIGITS.get(tail[0], 0) if tail else 0
        if tail.startswith("几"):
            units = 2
        return tens * 10 + units
    digits = [_DIGITS[c] for c in number if c in _DIGITS]
    return min(digits) if digits else 0


@dataclass(frozen=True)
class Count:
    text: str
    value: int
    unit: str


def counts(clause: str) -> list[Count]:
    """Counts of people or animals in ``clause`` ("二十来个", "一家五口", "几百只")."""
    found = []
    for match in _COUNT.finditer(clause):
        value = count_value(match["n"], match["more"])
        if match["unit"] == "口" and clause[max(0, match.start() - 2) : match.start()] == "一家":
            value = max(value, 3)
        found.append(Count(match.group(0), value, match["unit"]))
    return found
