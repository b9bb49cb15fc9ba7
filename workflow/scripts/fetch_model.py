"""Download a Hub model + tokenizer once, on the head node, into resources/models/."""

from fairforget.logs import setup_logging
from fairforget.sources import fetch_model

log = setup_logging(snakemake.log[0])
hub_id = snakemake.params.hub_id
log.info("downloading %s", hub_id)
kind = fetch_model(hub_id, snakemake.output[0])
log.info("%s: %s LM saved to %s", hub_id, kind, snakemake.output[0])
