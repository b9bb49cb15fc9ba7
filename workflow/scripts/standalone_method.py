"""One run of a stand-alone method (one that does not fine-tune: WiSE-FT, a projection debiaser): its registry
entry writes every checkpoint of the run from the job's inputs."""

import torch

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.methods import standalone_entry

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
spec = snakemake.params.spec
entry = standalone_entry(spec)
out_dirs = dict(zip(snakemake.params.checkpoints, snakemake.output.checkpoints))
metrics = entry.write_checkpoints(snakemake.input, spec, out_dirs, seed=int(snakemake.wildcards.seed))
write_json(snakemake.output.metrics, metrics)
log.info("%s (%s): %d checkpoints written: %s", snakemake.params.method, entry.title, len(out_dirs), sorted(out_dirs))
