"""Counterfactual data augmentation (CDA): swap gendered words in corpus sentences.

Rules (documented choices):
- whole words only, matched case-insensitively; the case of the original is carried over
  (he -> she, He -> She, HE -> SHE); possessive / clitic suffixes ("he's", "man's") and hyphenated
  compounds ("chairman-elect") keep their suffix because only the listed word is replaced;
- one regex pass over the sentence, so every word is swapped at most once (no he -> she -> he);
- a word listed in several pairs maps to its *first* pair (bias-bench lets the last one win, which
  sends "her" always to "his");
- "her" is resolved from the next one to three tokens: a determiner is followed by a noun phrase
  ("her book", "her newly devoted friend") -> "his"; before punctuation, function words, adverbs
  ("loved her dearly"), bare verbs ("let her go") or participles ("saw her standing there") it is an
  object -> "him". "hers" (absent from the lists) -> "his"; a predicative "his" ("the car is his",
  "his was the best") -> "hers", a determiner "his" -> "her";
- word-sense guards (SENSE_GUARDS, FIXED_EXPRESSIONS) leave non-gendered senses alone, from neighbouring
  words only: the verb "miss" and "Miss." (Mississippi); "the Lord" (God); "Our Lady"; "King" as a
  surname ("Stephen King"); "Guy" as a given name; bird "chicks"; the verb "groom"; "Uncle Sam",
  "mother tongue", "sister ship". Titles get their counterpart title: "Miss Grant" -> "Mr. Grant",
  "Sir Walter" -> "Dame Walter", "Lady Rosalind" <-> "Lord Rosalind";
- `BiasBenchAugmenter` reproduces bias-bench's quirks instead (whitespace tokens, exact lower-case
  match, last pair wins, no guards), for comparisons with published numbers.
Accuracy on hand-labelled corpus sentences: tests/data/cda_labelled.jsonl, test_labelled_counterfactual_accuracy.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

# after "her", these tokens mean "her" is an object pronoun (-> him), not a possessive (-> his);
# after "his" they mean a predicative "his" (-> hers: "his was the best", "his and hers")
OBJECT_HER_FOLLOWERS = frozenset(
    """a an the and or but nor so yet to at in on of off for from with by as up out down over into onto
    about after before again back away around if when while because that this these those than then
    there here too both each some any what who whom how why where which now just once
    is was are were be been am has had have do does did would can could should may must
    his her him he she it its they them their we us our you your i me my
    not never ever yesterday today tonight tomorrow alone asleep awake anyway instead please
    through across behind beside under against without toward towards upon until till during like
    everyday anymore forever everywhere somewhere anywhere nowhere afterwards already also soon
    something anything nothing everything someone anyone everyone mr mrs ms dr
    outside inside near beyond among between beneath above below along within throughout""".split()
)
# words that are adverbs after an object ("loved her more than", "held her close .") but modifiers in a
# noun phrase ("her more famous sister", "her close friend"): the word after them decides
ADVERBS = frozenset("very all more most well even still enough much later almost quite rather".split())
# not the head of a noun phrase; "will" and "might" right after "her"/"his" are mostly nouns ("against
# her will"), so they are only here, for the word after an adverb ("confronting her directly might")
FUNCTION_WORDS = OBJECT_HER_FOLLOWERS | ADVERBS | {"will", "might"}
FLEXIBLE_FOLLOWERS = ADVERBS | frozenset(
    """one first last little long hard close tight right next home pretty happy unhappy sad angry mad
    sick ill nervous jealous comfortable uncomfortable special crazy lonely safe warm dead alive free
    proud upset miserable""".split()
)
# lower-case words ending in -ly that are nouns, not adverbs ("her family .")
LY_NOUNS = frozenset(
    "family belly ally lily assembly supply reply jelly rally folly bully anomaly "
    "monopoly butterfly fly firefly melancholy".split()
)
# -ly adjectives, which modify a following noun as any adjective does ("her lovely, brilliant Paris")
LY_ADJECTIVES = frozenset(
    """lovely lonely ugly friendly unfriendly holy elderly deadly costly lively silly curly jolly daily
    weekly monthly yearly nightly manly womanly motherly fatherly brotherly sisterly saintly scholarly
    orderly timely worldly heavenly ghastly cowardly sickly lowly homely comely beastly leisurely""".split()
)
# -ing words that are usually nouns after "her" ("at her wedding .")
ING_NOUNS = frozenset(
    """wedding feeling feelings morning evening clothing being building darling king ring thing nothing
    everything something anything sibling stocking ceiling earring string wing spring meeting writing
    writings reading hearing training painting paintings drawing drawings bedding upbringing singing
    dancing acting bearing offspring fling sing wording lodging dwelling stuffing""".split()
)
# bare infinitives that follow an object "her" ("let her go", "heard her sing") and are rarely nouns
BARE_VERBS = frozenset(
    """go come be do sing cry leave stay know feel think get say tell die speak eat try sit stand bring
    give find understand hear marry become begin put pay buy sell write forget remember believe see
    forgive want keep""".split()
)
NAMING_VERBS = frozenset("call called calls calling name named names naming dubbed nicknamed".split())
PREPOSITIONS = frozenset(
    "at in to from of into near outside inside for by with around toward towards on onto upon".split()
)
OPENERS = frozenset("\"'(\u201c\u2018[")
_TOKEN = re.compile(r"\s*([A-Za-z0-9][\w'-]*|\S)")
_PREV = re.compile(r"([A-Za-z0-9][\w'-]*|\S)\s*$")
NAME_PAIRS_PATH = Path(__file__).parent / "data" / "name_pairs.json"


def _checked_pair(entry, where: str) -> tuple[str, str]:
    if not (
        isinstance(entry, (list, tuple)) and len(entry) == 2 and all(isinstance(w, str) and w.strip() for w in entry)
    ):
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
                raise ValueError(
                    f"{source}: entry {i} ({male!r}, {female!r}) maps {word!r} a second time "
                    f"(first in entry {seen[word]})"
                )
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


def next_tokens(text: str, end: int, n: int = 2) -> list[str | None]:
    """The n tokens (a word or one punctuation character) after position `end`; None past the end."""
    tokens: list[str | None] = []
    for _ in range(n):
        m = _TOKEN.match(text, end)
        tokens.append(m.group(1) if m else None)
        end = m.end() if m else end
    return tokens


def prev_token(text: str, start: int) -> str | None:
    """The token before position `start` (a word or one punctuation character); None at the start."""
    m = _PREV.search(text, 0, start)
    return m.group(1) if m else None


def _is_word(token: str | None) -> bool:
    return token is not None and token[:1].isalnum()


def _content(token: str | None) -> bool:
    """A content word (or number): not the end, not punctuation, not a function word or adverb."""
    return _is_word(token) and token.lower() not in FUNCTION_WORDS


def _is_name(token: str | None) -> bool:
    """A capitalised word that can start a name (not "I")."""
    return _is_word(token) and token[0].isupper() and token != "I"


def _is_adverb(token: str | None) -> bool:
    """A lower-case -ly word that is not a noun ("dearly", "gently"; not "family")."""
    return (
        _is_word(token)
        and token.islower()
        and len(token) > 3
        and token.endswith("ly")
        and token not in LY_NOUNS
        and token not in LY_ADJECTIVES
    )


def _is_participle(token: str | None) -> bool:
    """A lower-case -ing word that is not a common noun ("standing"; not "wedding")."""
    return _is_word(token) and token.islower() and len(token) > 4 and token.endswith("ing") and token not in ING_NOUNS


def _title_or_noun(token: str | None) -> bool:
    """After an opening quote: a capitalised word (a title: her "When the Frost ...") or a content word."""
    return _is_name(token) or _content(token)


def _modifier_then_noun(w1: str, w2: str | None) -> bool:
    """w1 is an adverb-like word ("dearly", "close", "standing"): possessive only if a content word follows."""
    return _content(w2) or (w2 in OPENERS)


def her_is_object(text: str, start: int, end: int) -> bool:
    """Object "her" (-> him) vs possessive (-> his), from the next one or two tokens and the previous word.
    Possessive "her" is a determiner, so it is followed by a noun phrase: a content word, or an adverb /
    participle that itself is followed by one ("her newly devoted friend"); anything else is an object."""
    tokens = next_tokens(text, end, 4)
    w1, w2 = tokens[0], tokens[1]
    if w1 in OPENERS:  # her "Beautiful Weather"
        return not _title_or_noun(w2)
    if not _is_word(w1):  # end of sentence or punctuation
        return True
    low = w1.lower()
    if low in OBJECT_HER_FOLLOWERS or low in BARE_VERBS:
        return True
    prev = (prev_token(text, start) or "").lower()
    if low == "home" and prev in PREPOSITIONS:
        return False  # "at her home ."
    if prev in NAMING_VERBS and _is_name(w1):
        return True  # "they called her Mollie"
    i = 0  # an adverb modifies the next word: skip it
    while (
        i < 2
        and (tokens[i] == "very" or _is_adverb(tokens[i]))
        and (_is_adverb(tokens[i + 1]) or _is_participle(tokens[i + 1]))
    ):
        i += 1  # "her very quietly while", "her suddenly hanging"
    w1, w2 = tokens[i], tokens[i + 1]
    low = w1.lower()
    if _is_participle(w1) and low not in FLEXIBLE_FOLLOWERS:
        # "found her sitting on", but "her passing ." (in the corpora, -ing before punctuation after
        # "her" is mostly a gerund: shopping, painting, writing, passing vs singing, crying)
        return _is_word(w2) and not _content(w2)
    if low in FLEXIBLE_FOLLOWERS or _is_adverb(w1):
        return not _modifier_then_noun(w1, w2)
    return False


def his_is_predicative(text: str, end: int) -> bool:
    """Predicative "his" (-> hers: "the car is his", "his was the best") vs determiner (-> her): a
    determiner is followed by a noun phrase, the same test as for possessive "her"."""
    w1, w2 = next_tokens(text, end)
    if w1 in OPENERS or w1 == ")":  # his "friend", (his) brother
        return not _title_or_noun(w2)
    if w1 == "/" and (w2 or "").lower() == "her":
        return False  # his/her
    if not _is_word(w1):
        return True
    if _is_name(w1):
        return False  # his Deacon Board, his A Garland of Verse
    low = w1.lower()
    if low in ("and", "or") and (w2 or "").lower() == "her":
        return False  # "his or her book": coordinated determiners
    if low in ADVERBS:
        return not _modifier_then_noun(w1, w2)
    # "his last", "his home near", "his back": nouns and adjectives after "his" make it a determiner
    return low in OBJECT_HER_FOLLOWERS and low != "back"


# word-sense guards for ambiguous entries of the bias-bench list; each returns the replacement (lower
# case), KEEP to leave the word alone, or None for the word list's default
KEEP = ""
VOCATIVE_CUES = frozenset("me yes no young little hey hi hello dear thanks please sorry excuse".split())
INTERJECTIONS = frozenset("oh o good dear please praise sweet".split())
COMMON_DETERMINERS = frozenset("a an his her their your its this that every no each".split())
DEITY_NAMES = frozenset("jesus god christ".split())
SENTENCE_STARTERS = frozenset(
    """the a an when if as but and so then our his her my their your this that old young good great
    once while after before since for in on at of to with by from""".split()
)
FIXED_EXPRESSIONS = {  # (word, next word) pairs whose gendered word is not about a person
    ("uncle", "sam"),
    ("mother", "tongue"),
    ("mother", "lode"),
    ("mother", "country"),
    ("mother", "nature"),
    ("mother", "earth"),
    ("mother", "ship"),
    ("mother", "board"),
    ("sister", "ship"),
    ("sister", "ships"),
    ("sister", "city"),
    ("sister", "cities"),
    ("sister", "paper"),
    ("sister", "papers"),
    ("sister", "company"),
    ("sister", "companies"),
    ("sister", "station"),
    ("sister", "stations"),
    ("chick", "pea"),
    ("chick", "peas"),
    ("boy", "oh"),
    ("man", "oh"),
}
INTERJECTION_WORDS = {("oh", "boy"), ("oh", "man")}  # (previous word, word): "oh boy", "man oh man"
BIRD_WORDS = frozenset(
    "vulture eagle bird birds hen hen's duck penguin owl ostrich hawk chicken robin baby newborn".split()
)
OBJECT_PRONOUNS = frozenset("me him her them us you it himself herself themselves myself yourself".split())
MODALS = frozenset("to will would can could should must might may".split())


def guard_miss(text, start, end, word):
    """'miss' is mostly the verb ("I miss you"): kept. Title before a name -> "Mr."; "Miss." after a
    town is Mississippi: kept; only a vocative ("excuse me miss", "Yes, miss.") becomes "sir"."""
    w1, _ = next_tokens(text, end)
    prev = prev_token(text, start)
    if word[0].isupper() and w1 == ".":
        return KEEP  # "Jackson, Miss."
    if word[0].isupper() and _is_name(w1):
        return "mr."  # "Miss Grant"
    if not _is_word(w1) and (prev is None or prev == "," or prev.lower() in VOCATIVE_CUES):
        return None  # "excuse me miss", "Thank you, miss."
    return KEEP


def guard_sir(text, start, end, word):
    """'Sir' before a name is a knighthood title: its female counterpart is "Dame", not "ma'am"."""
    w1, _ = next_tokens(text, end)
    return "dame" if word[0].isupper() and _is_name(w1) else None


def guard_lady(text, start, end, word):
    """'Our Lady' is the Virgin Mary (kept); 'Lady' before a name is a title (-> "Lord", not "Gentleman")."""
    w1, _ = next_tokens(text, end)
    prev = prev_token(text, start)
    if (prev or "").lower() == "our" and word[0].isupper():
        return KEEP
    if word[0].isupper() and _is_name(w1) and (prev or "").lower() != "first":
        return "lord"
    return None


def guard_lord(text, start, end, word):
    """A capitalised 'Lord' is a title only before a name ("Lord Byron", "Lord Mayor") or after a
    determiner ("a Lord"); otherwise it names God ("the Lord", "our Lord", "Lord, have mercy",
    "Lord Jesus") or a person called Lord ("Lord laughed"): kept, as is "oh lord", "good lord"."""
    w1, _ = next_tokens(text, end)
    prev = (prev_token(text, start) or "").lower()
    if (w1 or "").lower() in DEITY_NAMES or prev in INTERJECTIONS:
        return KEEP
    if word[0].isupper() and not _is_name(w1) and prev not in COMMON_DETERMINERS:
        return KEEP
    return None


STREET_WORDS = frozenset("st street ave avenue rd road blvd boulevard".split())


def guard_king(text, start, end, word):
    """'King' after a capitalised word is a surname or brand ("Rodney King", "Burger King"), before
    "St." a street name: kept."""
    prev = prev_token(text, start)
    w1, _ = next_tokens(text, end)
    if word[0].isupper() and _is_name(prev) and prev.lower() not in SENTENCE_STARTERS:
        return KEEP
    if word[0].isupper() and (w1 or "").lower() in STREET_WORDS:
        return KEEP  # "King St."
    return None


def guard_guy(text, start, end, word):
    """'Guy' before a capitalised word is a given name ("Guy Fawkes"); after one, part of a title
    ("Family Guy"): kept."""
    w1, _ = next_tokens(text, end)
    prev = prev_token(text, start)
    if word[0].isupper() and (_is_name(w1) or (_is_name(prev) and prev.lower() not in SENTENCE_STARTERS)):
        return KEEP
    return None


def guard_chick(text, start, end, word):
    """A chick after a bird word is a young bird ("vulture chicks"): kept."""
    return KEEP if (prev_token(text, start) or "").lower() in BIRD_WORDS else None


def guard_groom(text, start, end, word):
    """'to groom', 'groom me' are the verb: kept."""
    w1, _ = next_tokens(text, end)
    prev = (prev_token(text, start) or "").lower()
    return KEEP if prev in MODALS or (w1 or "").lower() in OBJECT_PRONOUNS else None


SENSE_GUARDS = {
    "miss": guard_miss,
    "sir": guard_sir,
    "lady": guard_lady,
    "lord": guard_lord,
    "king": guard_king,
    "guy": guard_guy,
    "chick": guard_chick,
    "chicks": guard_chick,
    "groom": guard_groom,
}


class CounterfactualAugmenter:
    """Swap every listed word of a sentence for its counterpart in one regex pass, with word-sense guards."""

    def __init__(self, directed: Iterable[tuple[str, str]]):
        self.swap = build_swap_map(directed)
        if self.swap.get("his") == "her":
            self.swap.setdefault("hers", "his")  # the lists omit "hers"; "his" may become "hers"
        # boundaries: letters/digits/underscore continue a word; apostrophes, hyphens, punctuation do not.
        # Every listed word starts with a letter, so \b is the start boundary. The trie is greedy and
        # backtracks, so "chairmen" is preferred to "chairman" and "hers" to "her".
        if not all(w[:1].isalnum() for w in self.swap):
            raise ValueError(f"listed words must start with a letter or digit: {sorted(self.swap)}")
        self.pattern = re.compile(rf"\b({trie_pattern(self.swap)})(?!\w)", re.IGNORECASE)

    def resolve_her(self, text: str, start: int, end: int) -> str:
        """'him' for an object "her", 'his' for a possessive one (see her_is_object)."""
        return "him" if her_is_object(text, start, end) else "his"

    def target(self, text: str, m: re.Match) -> str:
        """The replacement of one match (lower case), or KEEP."""
        word, lower = m.group(1), m.group(1).lower()
        if lower == "her" and self.swap["her"] in ("his", "him"):
            return self.resolve_her(text, m.start(), m.end())
        if lower == "his" and self.swap["his"] == "her" and his_is_predicative(text, m.end()):
            return "hers"
        nxt, prev = next_tokens(text, m.end(), 1)[0], prev_token(text, m.start())
        if (lower, (nxt or "").lower()) in FIXED_EXPRESSIONS or ((prev or "").lower(), lower) in INTERJECTION_WORDS:
            return KEEP
        guard = SENSE_GUARDS.get(lower)
        choice = guard(text, m.start(), m.end(), word) if guard else None
        return self.swap[lower] if choice is None else choice

    def augment(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Return the counterfactual sentence and the (original, replacement) swaps applied."""
        swaps: list[tuple[str, str]] = []

        def repl(m: re.Match) -> str:
            word = m.group(1)
            target = self.target(text, m)
            if target == KEEP:
                return word
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
            token = text[start : m.start()].rsplit(None, 1)[-1] if text[start : m.start()].strip() else ""
            token = token.lstrip("\"'([")
            if token.lower() in ABBREVIATIONS or len(token) == 1 or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", token):
                continue
        sentence = text[start : m.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def extract_candidates(
    texts: Iterable[str], augmenter, min_words: int, max_words: int, stats: Counter
) -> Iterator[dict]:
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
    summary.update(
        swaps=swaps,
        swaps_total=sum(swaps.values()),
        her_resolution=her | {"share_his": her["his"] / total_her if total_her else None},
    )
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
