"""One evaluation job per fine-tuning run: every checkpoint of the run is scored in one process.

Importing torch and transformers costs ~10 s per process and Snakemake's own bookkeeping costs ~2 ms per
job, so at the paper's scale (1,052 evaluated checkpoints, every benchmark and 5 GLUE tasks each) a job per
checkpoint meant ~9,800 jobs and a 20+ s dry run. A run's checkpoints are written together by one
fine-tuning job anyway, so batching them loses no caching: anything that changes one checkpoint changes all.

A run's result file holds {"checkpoints": {name: result}}, name = "base", a fine-tuning
checkpoint ("step<N>", or "frac<f>" under a tokens/epochs budget) or a stand-alone method's ("alpha<a>" of WiSE-FT,
"rank<k>" of SentenceDebias, "iter<n>" of INLP; each entry's `checkpoint_names`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from .io import read_json

log = logging.getLogger("fairforget")


def as_list(value) -> list[str]:
    """Snakemake hands a one-element named input over as a plain string; always a list here."""
    return [value] if isinstance(value, str) else list(value)


def evaluate_checkpoints(names: Sequence[str], model_dirs, evaluate: Callable[[str], dict]) -> dict:
    """{"checkpoints": {name: evaluate(model_dir)}}, logging progress and an ETA after each checkpoint."""
    model_dirs = as_list(model_dirs)
    if len(names) != len(model_dirs):
        raise ValueError(f"{len(names)} checkpoint names for {len(model_dirs)} model directories: {names}")
    results, start = {}, time.monotonic()
    for done, (name, model_dir) in enumerate(zip(names, model_dirs), 1):
        log.info("checkpoint %d/%d: %s (%s)", done, len(names), name, model_dir)
        results[name] = evaluate(model_dir)
        elapsed = time.monotonic() - start
        log.info(
            "checkpoint %d/%d done; %.0f s elapsed, ETA %.0f s",
            done,
            len(names),
            elapsed,
            elapsed / done * (len(names) - done),
        )
    return {"checkpoints": results}


def read_checkpoint(path: str, name: str, cache: dict | None = None) -> dict:
    """One checkpoint's result from a run's result file (each file parsed once when `cache` is given)."""
    cache = {} if cache is None else cache
    if path not in cache:
        data = read_json(path)
        if not isinstance(data, dict) or "checkpoints" not in data:
            raise ValueError(f"{path}: expected a run's result file {{'checkpoints': {{name: result}}}}")
        cache[path] = data["checkpoints"]
    checkpoints = cache[path]
    if name not in checkpoints:
        raise ValueError(f"{path}: no checkpoint {name!r} (has {sorted(checkpoints)})")
    return checkpoints[name]
