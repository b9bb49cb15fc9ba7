"""Fetch one input (Hub or local mirror) into resources/; dispatched on the rule name."""

import sys

from fairforget import sources
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
data_dir = snakemake.params.data_dir
source = snakemake.params.source  # a hub_datasets entry or the downloads block (unused with a mirror)
out = snakemake.output[0]
rule = snakemake.rule
try:
    if rule == "fetch_corpus":
        max_rows = snakemake.params.max_rows
        n = sources.fetch_corpus(snakemake.wildcards.corpus, data_dir, out, source, max_rows)
    elif rule == "fetch_wikitext_test":
        n = sources.fetch_wikitext_test(data_dir, out, source)
    elif rule == "fetch_crows_pairs":
        n = sources.fetch_crows_pairs(data_dir, out, source)
    elif rule == "fetch_word_lists":
        sources.fetch_word_lists(data_dir, out, source)
        n = 1
    elif rule == "fetch_winobias_swaps":
        sources.fetch_winobias_swaps(data_dir, snakemake.wildcards.name, out, source)
        with open(out) as f:
            n = sum(1 for line in f if line.strip())
    elif rule == "fetch_stereoset":
        n = sources.fetch_stereoset(data_dir, out, source)
    elif rule == "fetch_seat_test":
        sources.fetch_seat_test(data_dir, snakemake.wildcards.test, out, source)
        n = 1
    elif rule == "fetch_glue":
        n = sources.fetch_glue(snakemake.wildcards.task, data_dir, snakemake.wildcards.split, out, source)
    else:
        raise ValueError(f"fetch_data.py does not handle rule {rule!r}")
except sources.SourceUnavailable as err:
    log.error("%s", err)
    sys.exit(f"{rule}: {err}")  # one line, no traceback: the cause is outside the code
log.info("%s: %d rows -> %s (source: %s)", rule, n, out, data_dir or source)
