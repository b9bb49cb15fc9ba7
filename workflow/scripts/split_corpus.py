"""Split the CDA source corpus into training text (pretraining, CDA, replay) and an in-domain held-out slice
that no training step ever sees (overall forgetting on in-domain text)."""

from fairforget.io import write_jsonl
from fairforget.logs import setup_logging
from fairforget.sources import heldout_key, is_heldout, read_texts

log = setup_logging(snakemake.log[0])
fraction = snakemake.params.fraction
heldout = []


def training_rows(path):
    """The corpus' texts outside the held-out slice (streamed: corpora can be large); held-out ones are kept."""
    for text in read_texts(path):
        if not text.strip():
            continue
        if is_heldout(text, fraction):
            heldout.append(text)
        else:
            yield {"text": text}


for source, out in zip(snakemake.input.corpus, snakemake.output.train):
    before = len(heldout)
    n = write_jsonl(out, training_rows(source))
    log.info("%s: %d training texts, %d held out (fraction %g)", source, n, len(heldout) - before, fraction)
heldout.sort(key=heldout_key)  # one file for every corpus, in hash order: a shuffle across corpora
write_jsonl(snakemake.output.heldout, ({"text": t} for t in heldout))
log.info("in-domain held-out text: %d texts -> %s", len(heldout), snakemake.output.heldout)
