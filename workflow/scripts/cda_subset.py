"""One CDA subset: the first `size` candidates of the seeded shuffle (nested across sizes), each marked
with whether its counterfactual is used (cda.augment_fraction)."""

from collections import Counter

from fairforget.cda import keeps_counterfactual, select_subset, swap_statistics
from fairforget.io import read_jsonl, write_json, write_jsonl
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
p = snakemake.params
size = int(snakemake.wildcards.size)
subset = select_subset(list(read_jsonl(snakemake.input[0])), size, p.seed)
stats = Counter()
for record in subset:
    record["use_counterfactual"] = keeps_counterfactual(record["original"], p.augment_fraction, p.seed)
    stats["augmented"] += record["use_counterfactual"]
    for original, new in record["swaps"] if record["use_counterfactual"] else []:
        stats[f"swap:{original.lower()}->{new.lower()}"] += 1
write_jsonl(snakemake.output.subset, subset)
summary = swap_statistics(stats) | {"size": size, "augment_fraction": p.augment_fraction}
write_json(snakemake.output.stats, summary)
log.info("size %d: %d sentences with their counterfactual, %d swaps", size, stats["augmented"], summary["swaps_total"])
