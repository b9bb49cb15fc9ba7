"""Counterfactual data augmentation (CDA): swap gendered words in corpus sentences.

Rules (documented choices):
- whole words only, matched case-insensitively; the case of the original is carried over
  (he -> she, He -> She, HE -> SHE); possessive / clitic suffixes ("he's", "man's") and hyphenated
  compounds ("chairman-elect") keep their suffix because only the listed word is replaced;
- one regex pass over the sentence, so every word is swapped at most once (no he -> she -> he);
- a word listed in several pairs maps to its *first* pair (bias-bench lets the last one win, which
  sends "her" always to "his"); "her" itself is resolved by the next token: followed by a content
  word it is possessive ("her book" -> "his book"), otherwise it is an object ("saw her ." -> "saw him .").
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from typing import Iterable, Iterator

# after "her", these tokens mean "her" is an object pronoun (-> him), not a possessive (-> his)
OBJECT_HER_FOLLOWERS = frozenset(
    """a an the and or but nor so yet to at in on of off for from with by as up out down over into onto
    about after before again back away around if when while because that this these those than then
    there here too very all both each some any what who whom how why where which now just once
    is was are were be been am has had have do does did will would can could should may might must""".split()
)
_NEXT_WORD = re.compile(r"\s*([A-Za-z][\w'-]*)")


def load_word_pairs(path: str, key: str = "gender") -> list[tuple[str, str]]:
    """Read [male, female] pairs from a bias-bench style JSON file, validating each entry."""
    with open(path) as f:
        data = json.load(f)
    if key not in data:
        raise ValueError(f"{path}: no key {key!r}; keys are {sorted(data)}")
    pairs = []
    for i, pair in enumerate(data[key]):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(w, str) and w.strip() for w in pair)):
            raise ValueError(f"{path}: entry {key}[{i}] = {pair!r} is not a pair of two non-empty words")
        pairs.append((pair[0].strip().lower(), pair[1].strip().lower()))
    return pairs


def build_swap_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Both directions of every pair; the first pair that mentions a word decides its counterpart."""
    swap: dict[str, str] = {}
    for male, female in pairs:
        swap.setdefault(male, female)
        swap.setdefault(female, male)
    return swap


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class CounterfactualAugmenter:
    """Swap every listed word of a sentence for its counterpart in one pass."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.swap = build_swap_map(pairs)
        words = sorted(self.swap, key=len, reverse=True)  # longest first: "chairmen" before "chairman"
        alternation = "|".join(re.escape(w) for w in words)
        # a word boundary that treats apostrophes and hyphens as separators but not letters/digits
        self.pattern = re.compile(rf"(?<![\w])({alternation})(?![\w])", re.IGNORECASE)

    def _replacement(self, word: str, text: str, end: int) -> str:
        lower = word.lower()
        if lower == "her":
            nxt = _NEXT_WORD.match(text, end)
            target = "his" if nxt and nxt.group(1).lower() not in OBJECT_HER_FOLLOWERS else "him"
        else:
            target = self.swap[lower]
        return _match_case(word, target)

    def contains_word(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def augment(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Return the counterfactual sentence and the (original, replacement) swaps applied."""
        swaps: list[tuple[str, str]] = []

        def repl(m: re.Match) -> str:
            new = self._replacement(m.group(1), text, m.end())
            swaps.append((m.group(1), new))
            return new

        return self.pattern.sub(repl, text), swaps


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_sentences(text: str) -> list[str]:
    """Cheap splitter for paragraph corpora (one-sentence-per-line corpora pass through)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def extract_candidates(
    texts: Iterable[str], augmenter: CounterfactualAugmenter, min_words: int, max_words: int, stats: Counter
) -> Iterator[dict]:
    """Unique sentences within the length limits that contain a listed word, with their counterfactual."""
    seen: set[bytes] = set()
    for text in texts:
        for sentence in split_sentences(text):
            stats["sentences_scanned"] += 1
            n_words = len(sentence.split())
            if not (min_words <= n_words <= max_words):
                continue
            digest = hashlib.blake2b(sentence.encode(), digest_size=16).digest()
            if digest in seen:
                stats["duplicates_removed"] += 1
                continue
            seen.add(digest)
            augmented, swaps = augmenter.augment(sentence)
            if not swaps:
                continue
            stats["candidates"] += 1
            for original, new in swaps:
                stats[f"swap:{original.lower()}->{new.lower()}"] += 1
            yield {"original": sentence, "augmented": augmented, "swaps": swaps}


def select_subset(candidates: list[dict], size: int, seed: int) -> list[dict]:
    """The first `size` candidates of one seeded permutation: sizes are nested and independent."""
    if size > len(candidates):
        raise ValueError(f"CDA size {size} is larger than the {len(candidates)} candidate sentences available")
    order = list(range(len(candidates)))
    random.Random(seed).shuffle(order)
    return [candidates[i] for i in order[:size]]


def training_texts(records: Iterable[dict], mode: str = "two_sided") -> list[str]:
    """Texts to fine-tune on: original and counterfactual (two-sided) or the counterfactual only."""
    if mode == "two_sided":
        return [t for r in records for t in (r["original"], r["augmented"])]
    if mode == "one_sided":
        return [r["augmented"] for r in records]
    raise ValueError(f"unknown CDA mode {mode!r}; expected 'two_sided' or 'one_sided'")
