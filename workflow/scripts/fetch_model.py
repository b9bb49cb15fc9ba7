"""Download a Hub model + tokenizer once, on the head node, into resources/models/."""

from transformers import AutoModelForMaskedLM, AutoTokenizer

from fairforget.logs import setup_logging
from fairforget.training import save_model

log = setup_logging(snakemake.log[0])
hub_id = snakemake.params.hub_id
log.info("downloading %s", hub_id)
save_model(AutoModelForMaskedLM.from_pretrained(hub_id), AutoTokenizer.from_pretrained(hub_id), snakemake.output[0])
