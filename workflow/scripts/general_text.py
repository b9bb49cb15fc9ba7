"""A seeded sample of general (non-augmented) corpus text: replay batches and the EWC Fisher."""

import random

from fairforget.io import write_jsonl
from fairforget.logs import setup_logging
from fairforget.sources import read_texts

log = setup_logging(snakemake.log[0])
cfg = snakemake.params.general
rng = random.Random(cfg["seed"])
sample, seen = [], 0
for path in snakemake.input.corpus:  # reservoir sampling: one pass, memory for the sample only
    for text in read_texts(path):
        if not text.strip():
            continue
        seen += 1
        if len(sample) < cfg["max_texts"]:
            sample.append(text)
        else:
            j = rng.randrange(seen)
            if j < cfg["max_texts"]:
                sample[j] = text
write_jsonl(snakemake.output[0], [{"text": t} for t in sample])
log.info("general text: %d of %d corpus texts sampled", len(sample), seen)
