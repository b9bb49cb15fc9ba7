"""Every corpus sentence with a listed gendered word, with its counterfactual, plus statistics."""

from collections import Counter

from tqdm.auto import tqdm

from fairforget.cda import extract_candidates, load_word_lists, make_augmenter, swap_statistics
from fairforget.io import write_json, write_jsonl
from fairforget.logs import setup_logging
from fairforget.sources import read_texts

log = setup_logging(snakemake.log[0])
p = snakemake.params
directed = load_word_lists([tuple(entry) for entry in p.word_lists])
augmenter = make_augmenter(directed, p.bias_bench_quirks)
texts = tqdm(
    (text for path in snakemake.input.corpus for text in read_texts(path)),
    desc="scanning corpus",
    unit="text",
    mininterval=10,
)
stats = Counter()
n = write_jsonl(snakemake.output.candidates, extract_candidates(texts, augmenter, p.min_words, p.max_words, stats))
summary = swap_statistics(stats) | {
    "word_lists": [spec for spec, _ in p.word_lists],
    "word_map_size": len(augmenter.swap),
    "bias_bench_quirks": p.bias_bench_quirks,
}
write_json(snakemake.output.stats, summary)
log.info(
    "%d sentences scanned, %d candidates written; 'her' resolved %s",
    stats["sentences_scanned"],
    n,
    summary["her_resolution"],
)
