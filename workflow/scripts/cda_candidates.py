"""Every corpus sentence with a listed gendered word, with its counterfactual, plus statistics."""

from collections import Counter

from tqdm.auto import tqdm

from fairforget.cda import CounterfactualAugmenter, extract_candidates, load_word_pairs
from fairforget.io import read_jsonl, write_json, write_jsonl
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
p = snakemake.params
augmenter = CounterfactualAugmenter(load_word_pairs(snakemake.input.words, p.word_list))
texts = tqdm((row["text"] for path in snakemake.input.corpus for row in read_jsonl(path)), desc="scanning corpus",
             unit="text", mininterval=10)
stats = Counter()
n = write_jsonl(snakemake.output.candidates, extract_candidates(texts, augmenter, p.min_words, p.max_words, stats))
swaps = {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("swap:")}
summary = {k: v for k, v in stats.items() if not k.startswith("swap:")} | {"swaps": swaps}
write_json(snakemake.output.stats, summary)
log.info("%d sentences scanned, %d candidates written", stats["sentences_scanned"], n)
