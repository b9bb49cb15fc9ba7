"""One figure of the figure registry (fairforget.figures): drawn from its inputs and config block, its numbers
and caption written beside the PNG and PDF."""

from fairforget.figures import FIGURES
from fairforget.io import write_json
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
figure = FIGURES[snakemake.wildcards.figure]
data = figure.read(snakemake.input)
numbers = figure.draw(data, snakemake.params.figure, snakemake.params.shared, list(snakemake.output[:2]))
write_json(snakemake.output[2], numbers)
log.info("figure %s: %s", figure.label, {k: v for k, v in numbers.items() if k != "caption"})
