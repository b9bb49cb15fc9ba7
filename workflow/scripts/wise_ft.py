"""WiSE-FT: the base and a fine-tuned model interpolated at one alpha, as a save_pretrained directory."""

from fairforget.logs import setup_logging
from fairforget.methods import wise_ft

log = setup_logging(snakemake.log[0])
alpha = snakemake.params.alpha
wise_ft(snakemake.input.base, snakemake.input.tuned, alpha, snakemake.output[0])
log.info("WiSE-FT alpha=%s of %s and %s", alpha, snakemake.input.base, snakemake.input.tuned)
