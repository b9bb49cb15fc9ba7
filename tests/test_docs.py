"""The docs never state a count of figures, benchmarks or methods that the registries do not hold: a count
written by hand goes stale when an entry is added (issue 27 found "five figures" beside nine)."""

import re

from conftest import REPO

from fairforget.benchmarks import BENCHMARKS
from fairforget.figures import FIGURES
from fairforget.methods import METHODS

NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
COUNT = re.compile(r"\b(" + "|".join(NUMBERS) + r"|\d+)\s+(figures|benchmarks|methods)\b", re.IGNORECASE)
REGISTRIES = {"figures": FIGURES, "benchmarks": BENCHMARKS, "methods": METHODS}


def doc_files():
    return [REPO / "README.md", REPO / "config/README.md", *sorted((REPO / "docs").glob("*.md"))]


def counts_in(text: str) -> list[tuple[int, str, str]]:
    """(count, registry, phrase) of every "<n> figures|benchmarks|methods" in `text`."""
    found = []
    for match in COUNT.finditer(text):
        number = match[1].lower()
        found.append((NUMBERS[number] if number in NUMBERS else int(number), match[2].lower(), match[0]))
    return found


def test_the_scan_finds_a_stale_count():
    assert counts_in("draws the paper's five figures and 3 Methods") == [
        (5, "figures", "five figures"),
        (3, "methods", "3 Methods"),
    ]


def test_every_count_in_the_docs_is_the_registrys():
    wrong = [
        f"{path.relative_to(REPO)}: {phrase!r} (the {registry} registry holds {len(REGISTRIES[registry])})"
        for path in doc_files()
        for count, registry, phrase in counts_in(path.read_text())
        if count != len(REGISTRIES[registry])
    ]
    assert not wrong, "\n".join(wrong)
