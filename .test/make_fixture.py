"""Write .test/data: the small mirror a fresh clone tests and demos with, laid out like the full mirror.

Excerpts of openly licensed data are cut from a full mirror (CC BY-SA: WikiText, CrowS-Pairs, StereoSet);
inputs whose source states no licence that allows redistribution (bias-bench's word list and SEAT tests, GLUE's
SST-2 and STS-B) are replaced by data written here, deterministically. .test/data/PROVENANCE.md says which is
which. Rerun it only to change the fixture:

    python .test/make_fixture.py ../shared/data [OUT_DIR]
"""

import csv
import json
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data"

# excerpt sizes: enough rows for the demo's CDA sizes, probes and benchmarks, a few hundred kB in all
CORPUS_ROWS = 1200  # WikiText-103 valid rows as the corpus (CDA source and pretraining text)
HELDOUT_ROWS = 300  # WikiText-103 test rows (held-out text for overall forgetting)
CROWS_GENDER, CROWS_OTHER = 60, 20
STEREOSET_DEV, STEREOSET_TEST = 40, 20

GENDER_PAIRS = [
    ("he", "she"), ("him", "her"), ("his", "hers"), ("himself", "herself"), ("man", "woman"), ("men", "women"),
    ("boy", "girl"), ("boys", "girls"), ("father", "mother"), ("fathers", "mothers"), ("son", "daughter"),
    ("sons", "daughters"), ("brother", "sister"), ("brothers", "sisters"), ("husband", "wife"),
    ("husbands", "wives"), ("king", "queen"), ("kings", "queens"), ("uncle", "aunt"), ("nephew", "niece"),
    ("gentleman", "lady"), ("gentlemen", "ladies"), ("male", "female"), ("males", "females"), ("mr", "mrs"),
    ("prince", "princess"), ("grandfather", "grandmother"), ("grandson", "granddaughter"), ("actor", "actress"),
    ("boyfriend", "girlfriend"),
]  # fmt: skip

# SEAT-layout association tests written for the fixture (not the WEAT/SEAT word lists)
SEAT_SETS = {
    "male": ["he", "him", "man", "boy", "father", "son", "brother", "uncle"],
    "female": ["she", "her", "woman", "girl", "mother", "daughter", "sister", "aunt"],
    "career": ["office", "salary", "manager", "contract", "meeting", "engineer", "budget", "promotion"],
    "family": ["kitchen", "wedding", "children", "cousins", "garden", "holiday", "relatives", "nursery"],
    "science": ["physics", "chemistry", "laboratory", "experiment", "theory", "equation", "telescope", "molecule"],
    "arts": ["poetry", "painting", "dance", "novel", "sculpture", "theatre", "melody", "drama"],
}
SEAT_TESTS = {
    "demo-career-family": ("male", "female", "career", "family"),
    "demo-science-arts": ("male", "female", "science", "arts"),
}
SENTENCE_TEMPLATES = ["This is {}.", "That is {}.", "Here is {}.", "There is {}."]

POSITIVE = ["wonderful", "delightful", "moving", "brilliant", "charming", "gripping", "funny", "beautiful"]
NEGATIVE = ["dull", "tedious", "clumsy", "boring", "awful", "shallow", "messy", "forgettable"]
SUBJECTS = ["the film", "this movie", "the story", "the acting", "the script", "the ending", "the music", "the plot"]
LINKS = ["is", "was", "felt", "seemed", "turned out"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def excerpts(mirror: Path, out: Path) -> None:
    rows = read_jsonl(mirror / "wikitext/wikitext-103-valid.jsonl")[:CORPUS_ROWS]
    write(out / "corpus/wikitext103.jsonl", jsonl(rows))
    rows = read_jsonl(mirror / "wikitext/wikitext-103-test.jsonl")[:HELDOUT_ROWS]
    write(out / "wikitext/wikitext-103-test.jsonl", jsonl(rows))

    with open(mirror / "crows_pairs/crows_pairs_anonymized.csv", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    gender = [r for r in rows if r["bias_type"] == "gender"][:CROWS_GENDER]
    other = [r for r in rows if r["bias_type"] != "gender"][:CROWS_OTHER]
    crows = out / "crows_pairs/crows_pairs_anonymized.csv"
    crows.parent.mkdir(parents=True, exist_ok=True)
    with open(crows, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(sorted(gender + other, key=lambda r: int(r[""])))

    data = json.loads((mirror / "stereoset/stereoset_gender.json").read_text())
    items = data["data"]["intrasentence"]
    kept = [i for i in items if i["split"] == "dev"][:STEREOSET_DEV] + [i for i in items if i["split"] == "test"][
        :STEREOSET_TEST
    ]
    fixture = {"version": "fairforget-fixture-1", "data": {"intrasentence": kept, "intersentence": []}}
    write(out / "stereoset/stereoset_gender.json", json.dumps(fixture, indent=1) + "\n")


def written(out: Path) -> None:
    words = {"gender": [list(p) for p in GENDER_PAIRS]}
    write(out / "bias_bench/bias_attribute_words.json", json.dumps(words, indent=1) + "\n")
    for name, (t1, t2, a1, a2) in SEAT_TESTS.items():
        for prefix, make in (("", lambda w: w), ("sent-", None)):
            test = {}
            for key, category in zip(("targ1", "targ2", "attr1", "attr2"), (t1, t2, a1, a2)):
                words = SEAT_SETS[category]
                examples = words if make else [t.format(w) for w in words for t in SENTENCE_TEMPLATES]
                test[key] = {"category": category, "examples": examples}
            write(out / f"bias_bench/seat/{prefix}{name}.jsonl", json.dumps(test, indent=1) + "\n")

    rng = random.Random(0)
    sentiment = [
        (f"{s} {link} {adj} .", int(adj in POSITIVE)) for s in SUBJECTS for link in LINKS for adj in POSITIVE + NEGATIVE
    ]
    rng.shuffle(sentiment)
    for split, rows in (("train", sentiment[:480]), ("dev", sentiment[480:])):
        write(out / f"glue/SST-2/{split}.tsv", "sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows))

    # STS-B layout: a pair's score (0-5) is how many of its two slots (subject, adjective) agree, scaled
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    adjectives = POSITIVE + NEGATIVE
    for split, n in (("train", 300), ("dev", 100)):
        lines = []
        for k in range(n):
            s1, s2 = rng.choice(SUBJECTS), rng.choice(SUBJECTS)
            a1 = rng.choice(adjectives)
            a2 = a1 if rng.random() < 0.5 else rng.choice(adjectives)
            score = 2.5 * (s1 == s2) + 2.5 * (a1 == a2) if (a1 in POSITIVE) == (a2 in POSITIVE) else 0.5 * (s1 == s2)
            fields = [
                str(k),
                "fixture",
                "fixture",
                "2026",
                str(k),
                "none",
                "none",
                f"{s1} is {a1} .",
                f"{s2} is {a2} .",
            ]
            lines.append("\t".join(fields + [f"{score:.3f}"]) + "\n")
        write(out / f"glue/STS-B/{split}.tsv", header + "".join(lines))


def main(mirror: Path, out: Path = OUT) -> None:
    excerpts(mirror, out)
    written(out)
    print(f"wrote {sum(1 for p in out.rglob('*') if p.is_file())} files under {out}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) == 3 else OUT)
