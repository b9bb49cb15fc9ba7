"""One CDA subset: the first `size` candidates of the seeded shuffle (nested across sizes)."""

from collections import Counter

from fairforget.cda import select_subset
from fairforget.io import read_jsonl, write_json, write_jsonl
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
size = int(snakemake.wildcards.size)
subset = select_subset(list(read_jsonl(snakemake.input[0])), size, snakemake.params.seed)
write_jsonl(snakemake.output.subset, subset)
swaps = Counter(f"{a.lower()}->{b.lower()}" for r in subset for a, b in r["swaps"])
write_json(snakemake.output.stats, {"size": size, "swaps_total": sum(swaps.values()), "swaps": dict(sorted(swaps.items()))})
log.info("size %d subset written (%d swaps)", size, sum(swaps.values()))
