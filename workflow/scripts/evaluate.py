"""One benchmark of the registry (fairforget.benchmarks) on every checkpoint of one run; the data, and the base
model when the benchmark compares with it, are loaded once."""

import torch

from fairforget.benchmarks import BENCHMARKS
from fairforget.io import provenance, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.runs import as_list, evaluate_checkpoints

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
benchmark = BENCHMARKS[snakemake.wildcards.benchmark]
settings, batch_size = snakemake.params.settings, snakemake.params.batch_size
data = benchmark.load(snakemake.input, settings)
data_files = [f for name, files in snakemake.input.items() if name not in ("models", "base") for f in as_list(files)]
base_model = load_lm(snakemake.input.base)[0] if snakemake.input.get("base") else None


def evaluate(model_dir):
    model, tokenizer, kind = load_lm(model_dir)
    result = benchmark.score(model, tokenizer, kind, data, settings, batch_size, base_model)
    if benchmark.uses_base_model(settings):
        result["base_model_path"] = snakemake.input.get("base") or None
    result.update(provenance(model_dir, data_files))
    log.info(benchmark.summary(result))
    return result


write_json(snakemake.output[0], evaluate_checkpoints(snakemake.params.checkpoints, snakemake.input.models, evaluate))
