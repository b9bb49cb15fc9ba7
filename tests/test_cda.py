import json

import pytest

from fairforget.cda import (CounterfactualAugmenter, build_swap_map, extract_candidates, load_word_pairs,
                            select_subset, training_texts)

PAIRS = [("he", "she"), ("him", "her"), ("his", "her"), ("man", "woman"), ("men", "women"), ("chairman", "chairwoman"),
         ("guy", "gal"), ("guy", "girl"), ("boy", "girl"), ("mr.", "mrs."), ("himself", "herself")]


@pytest.fixture(scope="module")
def augmenter():
    return CounterfactualAugmenter(PAIRS)


@pytest.mark.parametrize("text, expected", [
    ("he is a nurse", "she is a nurse"),
    ("He is a nurse.", "She is a nurse."),
    ("HE IS HERE", "SHE IS HERE"),
    ("the shed is there", "the shed is there"),          # whole words only
    ("she said he was tired", "he said she was tired"),  # no he->she->he chain
    ("he's late", "she's late"),                         # clitic kept
    ("the man's hat", "the woman's hat"),                # possessive kept
    ("the chairman-elect spoke", "the chairwoman-elect spoke"),
    ("I saw her book", "I saw his book"),                # possessive her
    ("I saw her .", "I saw him ."),                      # object her
    ("I gave her the keys", "I gave him the keys"),
    ("\"He\" was quoted", "\"She\" was quoted"),          # quotes preserved
    ("Mr. Smith left", "Mrs. Smith left"),
    ("the men and women", "the women and men"),
    ("a girl", "a guy"),                                 # first pair listing "girl" wins (guy, girl)
    ("she hurt herself", "he hurt himself"),
])
def test_augment(augmenter, text, expected):
    assert augmenter.augment(text)[0] == expected


def test_swaps_are_reported(augmenter):
    _, swaps = augmenter.augment("He told his son")
    assert swaps == [("He", "She"), ("his", "her")]


def test_swap_twice_restores_unambiguous_sentence(augmenter):
    text = "The man said he would bring his brother himself."
    once, _ = augmenter.augment(text)
    assert augmenter.augment(once)[0] == text


def test_swap_map_first_pair_wins():
    swap = build_swap_map([("guy", "gal"), ("guy", "girl"), ("boy", "girl")])
    assert swap["guy"] == "gal" and swap["girl"] == "guy" and swap["boy"] == "girl"


def test_load_word_pairs_rejects_bad_entry(tmp_path):
    path = tmp_path / "words.json"
    path.write_text(json.dumps({"gender": [["he", "she"], ["man", ""]]}))
    with pytest.raises(ValueError, match=r"gender\[1\]"):
        load_word_pairs(str(path))


def test_extract_candidates_filters_and_dedups(augmenter):
    from collections import Counter

    stats = Counter()
    texts = ["He went home early today.", "He went home early today.", "The cat sat on the mat today.", "He ran."]
    rows = list(extract_candidates(texts, augmenter, min_words=3, max_words=10, stats=stats))
    assert [r["original"] for r in rows] == ["He went home early today."]
    assert stats["duplicates_removed"] == 1 and stats["candidates"] == 1


def test_subsets_are_nested_and_deterministic():
    candidates = [{"original": str(i), "augmented": str(i), "swaps": []} for i in range(100)]
    small, large = select_subset(candidates, 10, seed=3), select_subset(candidates, 40, seed=3)
    assert large[:10] == small
    assert select_subset(candidates, 10, seed=3) == small
    assert select_subset(candidates, 10, seed=4) != small
    with pytest.raises(ValueError, match="larger than the 100"):
        select_subset(candidates, 101, seed=0)


def test_training_texts_modes():
    records = [{"original": "he ran", "augmented": "she ran"}]
    assert training_texts(records, "two_sided") == ["he ran", "she ran"]
    assert training_texts(records, "one_sided") == ["she ran"]
    with pytest.raises(ValueError, match="unknown CDA mode"):
        training_texts(records, "three_sided")


def test_bias_bench_word_list_loads(data_dir):
    pairs = load_word_pairs(str(data_dir / "bias_bench" / "bias_attribute_words.json"))
    assert len(pairs) == 57 and ("he", "she") in pairs
