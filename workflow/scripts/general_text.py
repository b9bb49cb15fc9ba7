"""A seeded sample of general (non-augmented) corpus text: replay batches and the EWC Fisher."""

from fairforget.io import write_jsonl
from fairforget.logs import setup_logging
from fairforget.sources import sample_texts

log = setup_logging(snakemake.log[0])
cfg = snakemake.params.general
sample, seen = sample_texts(snakemake.input.corpus, cfg["max_texts"], cfg["seed"])
write_jsonl(snakemake.output[0], [{"text": t} for t in sample])
log.info("general text: %d of %d corpus texts sampled", len(sample), seen)
