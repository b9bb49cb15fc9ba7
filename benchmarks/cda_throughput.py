"""CDA throughput: fairforget's one-pass augmenter vs a straightforward per-pair regex loop.

Both run on the same sentences in one process; the report is sentences/s of each, their ratio
(goal >= 10x) and the peak Python memory of each (tracemalloc). Usage:
    python benchmarks/cda_throughput.py [--data-dir ../shared/data] [--sentences 100000]
"""

import argparse
import itertools
import re
import time
import tracemalloc
from pathlib import Path

from fairforget.cda import CounterfactualAugmenter, both_directions, build_swap_map, load_word_pairs
from fairforget.io import read_jsonl


class PerPairRegexLoop:
    """The obvious implementation: one compiled \\b-regex per word, applied one after the other."""

    def __init__(self, directed):
        self.rules = [
            (re.compile(rf"\b{re.escape(src)}\b", re.IGNORECASE), dst) for src, dst in build_swap_map(directed).items()
        ]

    def augment(self, text):
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        return text


def measure(augment, sentences):
    tracemalloc.start()
    start = time.perf_counter()
    for sentence in sentences:
        augment(sentence)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(sentences) / elapsed, peak / 2**10


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--sentences", type=int, default=100_000)
    args = parser.parse_args()
    data = Path(args.data_dir)
    corpus = itertools.chain.from_iterable(
        read_jsonl(data / "corpus" / name) for name in ("brown.jsonl", "nlp_corpus.jsonl")
    )
    sentences = [row["text"] for row in itertools.islice(corpus, args.sentences)]
    directed = both_directions(load_word_pairs(data / "bias_bench" / "bias_attribute_words.json"))
    ours = CounterfactualAugmenter(directed)
    naive = PerPairRegexLoop(directed)
    ours_rate, ours_mem = measure(ours.augment, sentences)
    naive_rate, naive_mem = measure(naive.augment, sentences)
    print(f"{len(sentences)} sentences, {len(ours.swap)} listed words")
    print(f"fairforget one-pass augmenter: {ours_rate:10.0f} sentences/s, peak {ours_mem:.0f} KiB")
    print(f"per-pair regex loop:           {naive_rate:10.0f} sentences/s, peak {naive_mem:.0f} KiB")
    print(f"ratio: {ours_rate / naive_rate:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
