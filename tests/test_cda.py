import json
import re
from collections import Counter
from pathlib import Path

import pytest

from fairforget.cda import (
    BiasBenchAugmenter,
    CounterfactualAugmenter,
    both_directions,
    build_swap_map,
    extract_candidates,
    keeps_counterfactual,
    load_word_lists,
    load_word_pairs,
    read_swap_file,
    select_subset,
    split_sentences,
    swap_statistics,
    training_texts,
    validate_user_pairs,
)


@pytest.fixture(scope="module")
def bias_bench_pairs(data_dir):
    return load_word_pairs(data_dir / "bias_bench" / "bias_attribute_words.json")


@pytest.fixture(scope="module")
def augmenter(bias_bench_pairs):
    return CounterfactualAugmenter(both_directions(bias_bench_pairs))


# sentence -> expected counterfactual with the default (bias-bench) word list
CASES = [
    # basic pronouns, both directions
    ("he is a nurse", "she is a nurse"),
    ("she is a doctor", "he is a doctor"),
    ("she said he was tired", "he said she was tired"),  # each word swapped once: no chains
    ("he told him about himself", "she told her about herself"),
    # case preserved
    ("He is a nurse.", "She is a nurse."),
    ("HE IS HERE", "SHE IS HERE"),
    ("The King spoke", "The Queen spoke"),
    ("KINGS and QUEENS", "QUEENS and KINGS"),
    # whole words only
    ("the shed is there", "the shed is there"),
    ("the theme of the hero", "the theme of the hero"),
    ("mankind and manhole covers", "mankind and manhole covers"),
    ("the sheriff saw his mother", "the sheriff saw her father"),
    ("hermit crabs", "hermit crabs"),
    # punctuation and quotes preserved
    ('"He" was quoted', '"She" was quoted'),
    ("(his) brother", "(her) sister"),
    ("Was it him?", "Was it her?"),
    ("his, hers", "hers, his"),  # predicative his -> hers, hers -> his
    ("a man; a woman.", "a woman; a man."),
    # possessives and clitics
    ("he's late", "she's late"),
    ("the man's hat", "the woman's hat"),
    ("the women's team", "the men's team"),
    ("he'd go and he'll stay", "she'd go and she'll stay"),
    ("the king's crown", "the queen's crown"),
    # hyphenated compounds
    ("the chairman-elect spoke", "the chairwoman-elect spoke"),
    ("a father-in-law", "a mother-in-law"),
    ("self-made man", "self-made woman"),
    # plurals as listed
    ("three brothers and two sisters", "three sisters and two brothers"),
    ("the spokesmen met", "the spokeswomen met"),
    ("boys will be boys", "girls will be girls"),
    # "her": possessive vs object (resolved by the next token)
    ("I saw her book", "I saw his book"),
    ("I saw her .", "I saw him ."),
    ("I saw her.", "I saw him."),
    ("I gave her the keys", "I gave him the keys"),
    ("her mother called", "his father called"),
    ("they told her that it rained", "they told him that it rained"),
    ("with her own hands", "with his own hands"),
    ("He loves her and her sister", "She loves him and his brother"),
    # words listed in several pairs: the first listing wins
    ("a girl", "a boy"),
    ("the guy left", "the gal left"),
    ("my lady", "my gentleman"),
    ("yes sir", "yes ma'am"),
    ("Mr. Smith left", "Mrs. Smith left"),
    ("Mrs. Smith left", "Mr. Smith left"),
    # no gendered word: unchanged
    ("the cat sat on the mat", "the cat sat on the mat"),
    # "her" before adverbs, participles, verbs; "his" predicative vs determiner; "hers"
    ("her brothers loved her dearly.", "his sisters loved him dearly."),
    ("her newly devoted friend", "his newly devoted friend"),
    ("I saw her standing there", "I saw him standing there"),
    ("at her wedding.", "at his wedding."),
    ("let her go", "let him go"),
    ("make her happy", "make him happy"),
    ("the car is his", "the car is hers"),
    ("his was the best", "hers was the best"),
    ("his car is red", "her car is red"),
    ("hers is red", "his is red"),
    ("Everyone held his or her breath.", "Everyone held her or his breath."),
    # word-sense guards
    ("I miss my dad", "I miss my mom"),
    ("Miss Grant left", "Mr. Grant left"),
    ("born in Jackson, Miss., in 1920", "born in Jackson, Miss., in 1920"),
    ("excuse me miss", "excuse me sir"),
    ("Sir Walter Scott", "Dame Walter Scott"),
    ("Lady Rosalind smiled", "Lord Rosalind smiled"),
    ("at Our Lady of Fatima", "at Our Lady of Fatima"),
    ("The Lord is my shepherd", "The Lord is my shepherd"),
    ("Lord Byron's publisher", "Lady Byron's publisher"),
    ("the noble lord", "the noble lady"),
    ("a Stephen King novel", "a Stephen King novel"),
    ("Guy Fawkes Night", "Guy Fawkes Night"),
    ("the vulture chicks hatched", "the vulture chicks hatched"),
    ("trying to groom me", "trying to groom me"),
    ("Uncle Sam wants you", "Uncle Sam wants you"),
    ("her mother tongue", "his mother tongue"),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_augment(augmenter, text, expected):
    assert augmenter.augment(text)[0] == expected


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


def test_swaps_are_reported(augmenter):
    _, swaps = augmenter.augment("He told his son")
    assert swaps == [("He", "She"), ("his", "her"), ("son", "daughter")]


# property tests over real corpus sentences
AMBIGUOUS = {
    "her",
    "hers",
    "girl",
    "girls",
    "lady",
    "ladies",
    "gentleman",
    "gal",
    "gals",
    "chick",
    "chicks",
    "guy",
    "guys",
    "sir",
    "ma'am",
    "miss",
    "mr.",
    "mrs.",
    "ms.",
    # words with a sense guard, which may be kept
    "king",
    "lord",
    "groom",
    "uncle",
    "mother",
    "sister",
}


def corpus_sample(data_dir, n=3000):
    from fairforget.io import read_jsonl

    rows = read_jsonl(data_dir / "corpus" / "brown.jsonl")
    return [r["text"] for _, r in zip(range(n), rows)]


def test_swapping_twice_restores_unambiguous_sentences(augmenter, data_dir):
    checked = 0
    for text in corpus_sample(data_dir):
        once, swaps = augmenter.augment(text)
        if swaps and not any(o.lower() in AMBIGUOUS or n.lower() in AMBIGUOUS for o, n in swaps):
            assert augmenter.augment(once)[0] == text
            checked += 1
    assert checked > 100


def test_male_and_female_counts_are_exchanged(augmenter, bias_bench_pairs, data_dir):
    clean = [(m, f) for m, f in bias_bench_pairs if m not in AMBIGUOUS and f not in AMBIGUOUS]
    male, female = {m for m, _ in clean}, {f for _, f in clean}
    word = re.compile(r"[\w'.]+")

    def count(text, words):
        return sum(1 for w in word.findall(text.lower()) if w in words)

    for text in corpus_sample(data_dir):
        if "her" in text.lower().split() or re.search(r"\b(his|him)\b", text, re.I):
            continue  # his/him -> her is many-to-one
        augmented, _ = augmenter.augment(text)
        assert count(augmented, female) == count(text, male)
        assert count(augmented, male) == count(text, female)


# labelled uses of "her": (sentence, expected replacement) to measure the next-token rule
HER_LABELLED = [
    ("I saw her book", "his"),
    ("her car is red", "his"),
    ("he met her parents", "his"),
    ("she lost her keys", "his"),
    ("her decision was final", "his"),
    ("they praised her work", "his"),
    ("in her own words", "his"),
    ("her first novel", "his"),
    ("at her house", "his"),
    ("her husband left", "his"),
    ("I saw her .", "him"),
    ("I told her that", "him"),
    ("give her the book", "him"),
    ("we asked her to stay", "him"),
    ("they called her yesterday", "him"),
    ("I love her", "him"),
    ("thanks to her", "him"),
    ("with her and me", "him"),
    ("he kissed her on the cheek", "him"),
    ("she made her way home", "his"),
    ("I heard her sing", "him"),
    ("they gave her a medal", "him"),
    ("she raised her voice", "his"),
    ("let her go", "him"),
    ("I helped her with it", "him"),
    ("a picture of her", "him"),
    ("her brother came", "his"),
    ("we found her asleep", "him"),
    ("for her sake", "his"),
    ("he followed her into the room", "him"),
]


def test_her_rule_accuracy(augmenter):
    correct = 0
    for text, expected in HER_LABELLED:
        _, swaps = augmenter.augment(text)
        got = [new.lower() for old, new in swaps if old.lower() == "her"]
        correct += got == [expected]
    accuracy = correct / len(HER_LABELLED)
    print(f"'her' rule accuracy on {len(HER_LABELLED)} labelled uses: {accuracy:.2%}")
    assert accuracy >= 0.85


def test_bias_bench_quirks(bias_bench_pairs):
    quirky = BiasBenchAugmenter(both_directions(bias_bench_pairs))
    assert quirky.augment("i saw her .")[0] == "i saw his ."  # last pair wins: her -> his always
    assert quirky.augment("He left")[0] == "He left"  # lower-case only
    assert quirky.augment("he, said")[0] == "he, said"  # punctuation blocks the match
    assert quirky.augment("a girl")[0] == "a guy"  # last pair listing "girl"
    # no word-sense guards: the verb "miss" becomes "sir", predicative "his" becomes "her", "hers" stays
    assert quirky.augment("i miss my dad")[0] == "i sir my mom"
    assert quirky.augment("the car is his")[0] == "the car is her"
    assert quirky.augment("hers is red")[0] == "hers is red"


LABELLED = Path(__file__).parent / "data" / "cda_labelled.jsonl"


def labelled_rows() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_labelled_counterfactual_accuracy(augmenter):
    """Exact-match accuracy of whole counterfactual sentences on hand-labelled corpus sentences;
    `pytest -s` prints every error."""
    rows = labelled_rows()
    errors = [(row, got) for row in rows if (got := augmenter.augment(row["text"])[0]) != row["expected"]]
    for row, got in errors:
        print(
            f"[{row['category']}] {row['source']}\n  text:     {row['text']}\n  expected: {row['expected']}\n"
            f"  got:      {got}"
        )
    accuracy = 1 - len(errors) / len(rows)
    for split in ("dev", "heldout"):
        part = [row for row in rows if row["split"] == split]
        wrong = sum(row["split"] == split for row, _ in errors)
        print(f"{split}: {len(part) - wrong}/{len(part)}")
    print(f"labelled CDA accuracy: {accuracy:.2%} ({len(rows) - len(errors)}/{len(rows)})")
    assert accuracy >= 0.97


def test_labelled_set_covers_the_ambiguous_words():
    rows = labelled_rows()
    assert len(rows) >= 150
    counts = Counter(row["category"] for row in rows)
    for category in (
        "her-object",
        "her-possessive",
        "his-predicative",
        "his-determiner",
        "hers",
        "miss-verb",
        "miss-title",
    ):
        assert counts[category] >= 8, (category, counts[category])
    for category in (
        "miss-state",
        "miss-vocative",
        "sir-title",
        "sir-vocative",
        "lady-title",
        "our-lady",
        "lord-deity",
        "lord-title",
        "king-name",
        "guy-name",
        "chick-bird",
        "groom-verb",
        "fixed-expression",
    ):
        assert counts[category] >= 1, category
    assert all(row["source"].startswith(("corpus/brown.jsonl:", "corpus/nlp_corpus.jsonl:")) for row in rows)
    assert len({row["source"] for row in rows}) == len(rows)


def test_labelled_sentences_are_real_corpus_lines(data_dir):
    """Each labelled sentence is the corpus line its `source` names, verbatim."""
    lines = {}
    for row in labelled_rows():
        path, number = row["source"].rsplit(":", 1)
        if path not in lines:
            lines[path] = (data_dir / path).read_text(encoding="utf-8").splitlines()
        assert json.loads(lines[path][int(number) - 1])["text"] == row["text"], row["source"]


def test_swap_map_first_pair_wins():
    swap = build_swap_map(both_directions([("guy", "gal"), ("guy", "girl"), ("boy", "girl")]))
    assert swap["guy"] == "gal" and swap["girl"] == "guy" and swap["boy"] == "girl"
    assert build_swap_map([("a", "b"), ("a", "c")], last_wins=True)["a"] == "c"


def test_bad_entries_name_the_entry(tmp_path):
    path = tmp_path / "words.json"
    path.write_text(json.dumps({"gender": [["he", "she"], ["man", ""]]}))
    with pytest.raises(ValueError, match=r"gender\[1\]"):
        load_word_pairs(path)
    tsv = tmp_path / "swaps.txt"
    tsv.write_text("king\tqueen\nprince\n")
    with pytest.raises(ValueError, match=r"swaps.txt, line 2"):
        read_swap_file(tsv)


def test_user_list_validation(tmp_path):
    with pytest.raises(ValueError, match=r"entry 1 .* maps 'he' a second time"):
        validate_user_pairs([("he", "she"), ("he", "they")], "mine.txt")
    with pytest.raises(ValueError, match="maps 'x' to itself"):
        validate_user_pairs([("x", "x")], "mine.txt")
    user = tmp_path / "mine.txt"
    user.write_text("wizard\twitch\n")
    directed = load_word_lists([("names", []), (str(user), [str(user)])])
    assert ("wizard", "witch") in directed and ("witch", "wizard") in directed and ("john", "patricia") in directed


def test_winobias_lists(data_dir):
    files = [str(data_dir / "winobias" / f) for f in ("generalized_swaps.txt", "extra_gendered_words.txt")]
    augmenter = CounterfactualAugmenter(load_word_lists([("winobias", files)]))
    assert augmenter.augment("The cowboy met the actress")[0] == "The cowgirl met the actor"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mr. Smith went home. He slept.", ["Mr. Smith went home.", "He slept."]),
        ("The U.S. Army left. It rained.", ["The U.S. Army left.", "It rained."]),
        ("It cost 3.5 dollars. Cheap!", ["It cost 3.5 dollars.", "Cheap!"]),
        ("J. R. R. Tolkien wrote it. Dr. Who did not.", ["J. R. R. Tolkien wrote it.", "Dr. Who did not."]),
        ('"Go!" she said. He went.', ['"Go!" she said.', "He went."]),
        ("one sentence only", ["one sentence only"]),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_extract_candidates_filters_dedups_and_counts(augmenter):
    stats = Counter()
    texts = [
        "He went home early today.",
        "He went home early today.",
        "The cat sat on the mat today.",
        "He ran.",
        "She gave her book to him today.",
    ]
    rows = list(extract_candidates(texts, augmenter, min_words=3, max_words=10, stats=stats))
    assert [r["original"] for r in rows] == ["He went home early today.", "She gave her book to him today."]
    summary = swap_statistics(stats)
    assert summary["duplicates_removed"] == 1 and summary["candidates"] == 2 and summary["length_filtered"] == 1
    assert summary["her_resolution"] == {"his": 1, "him": 0, "share_his": 1.0}
    assert summary["swaps"]["he->she"] == 1 and summary["swaps_total"] == 4


def test_subsets_are_nested_and_deterministic():
    candidates = [{"original": str(i), "augmented": str(i), "swaps": []} for i in range(100)]
    small, large = select_subset(candidates, 10, seed=3), select_subset(candidates, 40, seed=3)
    assert large[:10] == small
    assert select_subset(candidates, 10, seed=3) == small
    assert select_subset(candidates, 10, seed=4) != small
    with pytest.raises(ValueError, match="larger than the 100"):
        select_subset(candidates, 101, seed=0)


def test_augment_fraction_is_per_sentence_and_seeded():
    texts = [f"sentence {i}" for i in range(2000)]
    kept = [keeps_counterfactual(t, 0.3, seed=0) for t in texts]
    assert 0.25 < sum(kept) / len(kept) < 0.35
    assert kept == [keeps_counterfactual(t, 0.3, seed=0) for t in texts]
    assert all(keeps_counterfactual(t, 1.0, seed=0) for t in texts)


def test_training_texts_modes():
    records = [
        {"original": "he ran", "augmented": "she ran"},
        {"original": "his cat", "augmented": "her cat", "use_counterfactual": False},
    ]
    assert training_texts(records, "two_sided") == ["he ran", "she ran", "his cat"]
    assert training_texts(records, "one_sided") == ["she ran", "his cat"]
    with pytest.raises(ValueError, match="unknown CDA mode"):
        training_texts(records, "three_sided")


def test_bias_bench_word_list_loads(bias_bench_pairs):
    assert len(bias_bench_pairs) == 57 and ("he", "she") in bias_bench_pairs


def test_trie_pattern_matches_exactly_the_words():
    from fairforget.cda import trie_pattern

    words = ["he", "her", "hers", "herself", "him", "mr.", "ma'am", "man", "men", "manager", "a"]
    pattern = re.compile(trie_pattern(words))
    assert all(pattern.fullmatch(w) for w in words)
    for other in ["h", "hi", "herse", "mr", "ma", "mane", "b", ""]:
        assert not pattern.fullmatch(other), other
