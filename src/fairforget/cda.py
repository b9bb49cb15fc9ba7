"""Counterfactual data augmentation (CDA): swap gendered words in corpus sentences.

Rules (documented choices):
- whole words only, matched case-insensitively; the case of the original is carried over
  (he -> she, He -> She, HE -> SHE); possessive / clitic suffixes ("he's", "man's") and hyphenated
  compounds ("chairman-elect") keep their suffix because only the listed word is replaced;
- one regex pass over the sentence, so every word is swapped at most once (no he -> she -> he);
- a word listed in several pairs maps to its *first* pair (bias-bench lets the last one win, which
  sends "her" always to "his"); "her" itself is resolved by the next token: followed by a content
  word it is possessive ("her book" -> "his book"), otherwise it is an object ("saw her ." -> "saw him .");
- `BiasBenchAugmenter` reproduces bias-bench's quirks instead (whitespace tokens, exact lower-case
  match, last pair wins), for comparisons with published numbers.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

# after "her", these tokens mean "her" is an object pronoun (-> him), not a possessive (-> his)
OBJECT_HER_FOLLOWERS = frozenset(
    """a an the and or but nor so yet to at in on of off for from with by as up out down over into onto
    about after before again back away around if when while because that this these those than then
    there here too very all both each some any what who whom how why where which now just once
    is was are were be been am has had have do does did will would can could should may might must
    his her him he she it its they them their we us our you your i me my one
    not never ever yesterday today tonight tomorrow alone asleep awake anyway instead please""".split()
)
_NEXT_WORD = re.compile(r"\s*([A-Za-z][\w'-]*)")
NAME_PAIRS_PATH = Path(__file__).parent / "data" / "name_pairs.json"


def _checked_pair(entry, where: str) -> tuple[str, str]:
    if not (isinstance(entry, (list, tuple)) and len(entry) == 2
            and all(isinstance(w, str) and w.strip() for w in entry)):
        raise ValueError(f"{where}: {entry!r} is not a pair of two non-empty words")
    return entry[0].strip().lower(), entry[1].strip().lower()


def load_word_pairs(path: str | Path, key: str = "gender") -> list[tuple[str, str]]:
    """[male, female] pairs from a bias-bench style JSON file ({key: [[male, female], ...]})."""
    with open(path) as f:
        data = json.load(f)
    if key not in data:
        raise ValueError(f"{path}: no key {key!r}; keys are {sorted(data)}")
    return [_checked_pair(pair, f"{path}: entry {key}[{i}]") for i, pair in enumerate(data[key])]


def read_swap_file(path: str | Path) -> list[tuple[str, str]]:
    """Directed (word, replacement) lines of a tab-separated swap list (WinoBias layout)."""
    swaps = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            swaps.append(_checked_pair(line.split("\t") if "\t" in line else line.split(), f"{path}, line {lineno}"))
    return swaps


def both_directions(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [d for male, female in pairs for d in ((male, female), (female, male))]


def validate_user_pairs(pairs: list[tuple[str, str]], source: str) -> None:
    """A user-supplied list must not map a word twice or to itself (errors name the entry)."""
    seen: dict[str, int] = {}
    for i, (male, female) in enumerate(pairs):
        if male == female:
            raise ValueError(f"{source}: entry {i} maps {male!r} to itself")
        for word in (male, female):
            if word in seen:
                raise ValueError(f"{source}: entry {i} ({male!r}, {female!r}) maps {word!r} a second time "
                                 f"(first in entry {seen[word]})")
            seen[word] = i


def load_word_lists(lists: list[tuple[str, list[str]]], key: str = "gender") -> list[tuple[str, str]]:
    """Directed swaps of the configured word lists, in order. Each entry is (spec, files): 'bias_bench'
    (its JSON), 'winobias' (its swap files), 'names' (no file: package data) or a user file (validated)."""
    directed: list[tuple[str, str]] = []
    for spec, files in lists:
        if spec == "bias_bench":
            directed += both_directions(load_word_pairs(files[0], key))
        elif spec == "winobias":
            directed += [d for path in files for d in read_swap_file(path)]
        elif spec == "names":
            directed += both_directions(load_word_pairs(NAME_PAIRS_PATH, "names"))
        else:
            path = files[0] if files else spec
            pairs = load_word_pairs(path, key) if str(path).endswith(".json") else read_swap_file(path)
            validate_user_pairs(pairs, str(path))
            directed += both_directions(pairs)
    return directed


def build_swap_map(directed: Iterable[tuple[str, str]], last_wins: bool = False) -> dict[str, str]:
    """word -> replacement; the first listing of a word decides (bias-bench: the last)."""
    swap: dict[str, str] = {}
    for src, dst in directed:
        if last_wins:
            swap[src] = dst
        else:
            swap.setdefault(src, dst)
    return swap


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of `words` factored by common prefixes ("he|her|hers" -> "he(?:r(?:s)?)?").
    Python's regex engine tries alternatives one by one; the trie makes it try each letter once."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return render(trie)


class CounterfactualAugmenter:
    """Swap every listed word of a sentence for its counterpart in one regex pass."""

    def __init__(self, directed: Iterable[tuple[str, str]]):
        self.swap = build_swap_map(directed)
        # boundaries: letters/digits/underscore continue a word; apostrophes, hyphens, punctuation do not.
        # Every listed word starts with a letter, so \b is the start boundary. The trie is greedy and
        # backtracks, so "chairmen" is preferred to "chairman" and "hers" to "her".
        if not all(w[:1].isalnum() for w in self.swap):
            raise ValueError(f"listed words must start with a letter or digit: {sorted(self.swap)}")
        self.pattern = re.compile(rf"\b({trie_pattern(self.swap)})(?!\w)", re.IGNORECASE)

    def resolve_her(self, text: str, end: int) -> str:
        """'his' when the next word is a content word (possessive), else 'him' (object)."""
        nxt = _NEXT_WORD.match(text, end)
        return "his" if nxt and nxt.group(1).lower() not in OBJECT_HER_FOLLOWERS else "him"

    def augment(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Return the counterfactual sentence and the (original, replacement) swaps applied."""
        swaps: list[tuple[str, str]] = []

        def repl(m: re.Match) -> str:
            word = m.group(1)
            lower = word.lower()
            target = self.resolve_her(text, m.end()) if lower == "her" and self.swap.get("her") in ("his", "him") \
                else self.swap[lower]
            new = _match_case(word, target)
            swaps.append((word, new))
            return new

        return self.pattern.sub(repl, text), swaps


class BiasBenchAugmenter:
    """bias-bench's CDA, quirks included: whitespace tokens, exact (lower-case) match, last pair wins."""

    def __init__(self, directed: Iterable[tuple[str, str]]):
        self.swap = build_swap_map(directed, last_wins=True)

    def augment(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        words = text.split()
        swaps = [(w, self.swap[w]) for w in words if w in self.swap]
        return " ".join(self.swap.get(w, w) for w in words), swaps


def make_augmenter(directed: list[tuple[str, str]], bias_bench_quirks: bool = False):
    return BiasBenchAugmenter(directed) if bias_bench_quirks else CounterfactualAugmenter(directed)


ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr vs etc fig no nos vol gen col lt sgt capt cmdr adm rev gov sen rep hon pres
    mt ft inc ltd co corp dept univ est approx jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Rule-based sentence splitter: ends at . ! ? followed by space and a capital, but not after
    abbreviations (Mr., Dr., etc.), single initials (J. Smith) or dotted acronyms (U.S. Army);
    decimals never split (no space after the point)."""
    sentences, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if text[m.start()] == ".":
            token = text[start:m.start()].rsplit(None, 1)[-1] if text[start:m.start()].strip() else ""
            token = token.lstrip("\"'([")
            if token.lower() in ABBREVIATIONS or len(token) == 1 or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", token):
                continue
        sentence = text[start:m.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def extract_candidates(texts: Iterable[str], augmenter, min_words: int, max_words: int,
                       stats: Counter) -> Iterator[dict]:
    """Unique sentences within the length limits that contain a listed word, with their counterfactual."""
    seen: set[bytes] = set()
    for text in texts:
        for sentence in split_sentences(text):
            stats["sentences_scanned"] += 1
            n_words = len(sentence.split())
            if not (min_words <= n_words <= max_words):
                stats["length_filtered"] += 1
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


def swap_statistics(stats: Counter) -> dict:
    """Counts of the scan plus swaps per word pair and how 'her' was resolved."""
    swaps = {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("swap:")}
    her = {"his": swaps.get("her->his", 0), "him": swaps.get("her->him", 0)}
    total_her = her["his"] + her["him"]
    summary = {k: v for k, v in stats.items() if not k.startswith("swap:")}
    summary.update(swaps=swaps, swaps_total=sum(swaps.values()),
                   her_resolution=her | {"share_his": her["his"] / total_her if total_her else None})
    return summary


def select_subset(candidates: list[dict], size: int, seed: int) -> list[dict]:
    """The first `size` candidates of one seeded permutation: sizes are nested and independent."""
    if size > len(candidates):
        raise ValueError(f"CDA size {size} is larger than the {len(candidates)} candidate sentences available")
    order = list(range(len(candidates)))
    random.Random(seed).shuffle(order)
    return [candidates[i] for i in order[:size]]


def keeps_counterfactual(text: str, fraction: float, seed: int) -> bool:
    """Seeded per-sentence coin: the same sentence gets the same decision in every subset size."""
    if fraction >= 1:
        return True
    digest = hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def training_texts(records: Iterable[dict], mode: str = "two_sided") -> list[str]:
    """Texts to fine-tune on. two_sided: every original plus its counterfactual; one_sided: the
    counterfactual alone. Records whose `use_counterfactual` is false contribute their original only."""
    if mode not in ("two_sided", "one_sided"):
        raise ValueError(f"unknown CDA mode {mode!r}; expected 'two_sided' or 'one_sided'")
    texts = []
    for r in records:
        counterfactual = r.get("use_counterfactual", True)
        if mode == "two_sided":
            texts.append(r["original"])
            if counterfactual:
                texts.append(r["augmented"])
        else:
            texts.append(r["augmented"] if counterfactual else r["original"])
    return texts
