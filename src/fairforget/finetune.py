"""One fine-tuning run: a base model, a CDA subset and a method -> a save_pretrained directory per checkpoint.

Resumable: Trainer checkpoints and the step exports live in a state directory next to the outputs. A rerun
of a killed job finds them (if the run's settings are unchanged) and continues from the newest complete
checkpoint; the step directories are moved into place only when training has finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import torch
from transformers import set_seed

from .budget import resolve_budget
from .checkpoints import pooler_tensors, save_for_evaluation
from .io import write_json
from .methods import objective, training_entries
from .modeling import load_lm, usable_length
from .training import tokenize_blocks, train_lm

log = logging.getLogger(__name__)


def run_fingerprint(**settings) -> str:
    """A digest of everything that determines the run; a state directory from other settings is discarded."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def base_files(base: str):
    """(name, size, mtime) of the base model's files: a retrained base invalidates saved training state."""
    if not Path(base).is_dir():
        return base  # a Hub id
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in Path(base).iterdir() if f.is_file())


def prepare_state_dir(state_dir: str, fingerprint: str) -> Path:
    """The run's state directory, emptied unless it belongs to a run with the same fingerprint."""
    state = Path(state_dir)
    stamp = state / "run.json"
    if state.exists():
        previous = json.loads(stamp.read_text()).get("fingerprint") if stamp.is_file() else None
        if previous == fingerprint:
            log.info("state directory %s is from an interrupted run with the same settings: resuming", state)
            return state
        log.info("state directory %s is from other settings: starting afresh", state)
        shutil.rmtree(state)
    state.mkdir(parents=True)
    write_json(stamp, {"fingerprint": fingerprint})
    return state


def load_for_training(base: str, spec: dict):
    """(model, tokenizer, kind, config values to restore on export) with the training entries' overrides (the
    raised dropout of dropout debiasing)."""
    from transformers import AutoConfig

    overrides = {}
    base_config = None
    for entry in training_entries(spec):
        base_config = base_config or AutoConfig.from_pretrained(base)
        overrides |= entry.load_overrides(base_config, spec)
    restore = {k: getattr(base_config, k) for k in overrides}
    model, tokenizer, kind = load_lm(base, **overrides)
    model.train()
    return model, tokenizer, kind, restore


def finetune(
    base: str,
    records: list[dict],
    spec: dict,
    cfg: dict,
    seed: int,
    checkpoint_dirs: dict[str, str],
    state_dir: str,
    general_texts: list[str] | None = None,
    fisher: dict[str, torch.Tensor] | None = None,
) -> dict:
    """Fine-tune `base` with method `spec` (its settings with defaults, fairforget.methods.method_specs) under the
    `finetune` config `cfg` for its budget (steps, epochs or tokens); write each checkpoint (step<N> or frac<f>,
    see budget.checkpoint_names) to checkpoint_dirs[name]; return the run's metrics."""
    start = time.perf_counter()
    set_seed(seed)  # LoRA's initialisation draws from the global generator
    model, tokenizer, kind, restore = load_for_training(base, spec)
    pooler = pooler_tensors(base)  # carried into every checkpoint: the masked-LM class drops it
    block_size = usable_length(model, cfg["max_length"])
    texts = objective(spec).texts(records, spec)
    blocks = tokenize_blocks(tokenizer, texts, block_size)
    log.info("%s objective: %d texts -> %d blocks of %d tokens", spec["objective"], len(texts), len(blocks), block_size)
    # each training entry's part (fairforget.methods, in registry order): extra blocks, the model it trains,
    # a penalty on the weights
    context = dict(tokenizer=tokenizer, block_size=block_size, seed=seed, general_texts=general_texts, fisher=fisher)
    for entry in training_entries(spec):
        blocks = entry.mix(blocks, spec, context)
    budget = resolve_budget(cfg, len(blocks), block_size)
    unknown = sorted(set(checkpoint_dirs) - set(budget["checkpoint_steps"]))
    if unknown:
        raise ValueError(f"checkpoints {unknown} are not saved under this budget {sorted(budget['checkpoint_steps'])}")
    log.info(
        "budget %s = %s: %d steps, %.2f passes over %d blocks",
        budget["unit"],
        budget["value"],
        budget["max_steps"],
        budget["passes"],
        len(blocks),
    )
    for entry in training_entries(spec):
        model = entry.prepare(model, spec, context)
    penalties = [p for p in (entry.penalty(model, spec, context) for entry in training_entries(spec)) if p is not None]
    if len(penalties) > 1:
        raise ValueError(f"method {spec}: more than one weight penalty")
    penalty = penalties[0] if penalties else None

    fingerprint = run_fingerprint(
        spec=spec,
        cfg=cfg,
        seed=seed,
        checkpoints=budget["checkpoint_steps"],
        base=base_files(base),
        blocks=hashlib.sha256(json.dumps(blocks).encode()).hexdigest(),
        fisher=sum(float(f.double().sum()) for f in fisher.values()) if fisher else None,
    )
    state = prepare_state_dir(state_dir, fingerprint)
    exports = {name: str(state / "export" / name) for name in checkpoint_dirs}
    step_dirs = {}
    for name, out in exports.items():
        step_dirs.setdefault(budget["checkpoint_steps"][name], []).append(out)
    max_steps = budget["max_steps"]
    metrics = train_lm(
        model,
        tokenizer,
        blocks,
        kind=kind,
        max_steps=max_steps,
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        seed=seed,
        work_dir=str(state / "trainer"),
        mlm_probability=cfg["mlm_probability"],
        step_dirs=step_dirs,
        export=lambda m, out: save_for_evaluation(m, tokenizer, out, restore, extra_tensors=pooler),
        warmup_steps=cfg["warmup_steps"],
        logging_steps=max(1, max_steps // 10),
        gradient_accumulation_steps=cfg.get("gradient_accumulation_steps", 1),
        penalty=penalty,
        checkpoint_every=cfg.get("checkpoint_every"),
    )
    missing = [str(p) for p in exports.values() if not Path(p).is_dir()]
    if missing:
        raise RuntimeError(f"training finished without exporting {missing}; remove {state} and rerun")
    for name, out in checkpoint_dirs.items():
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        if Path(out).exists():
            shutil.rmtree(out)
        os.replace(exports[name], out)
    shutil.rmtree(state)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "kind": kind,
        "method": spec,
        "budget": {k: budget[k] for k in ("unit", "value")},
        "max_steps": max_steps,
        "checkpoint_steps": budget["checkpoint_steps"],
        "passes": budget["passes"],
        "train_tokens": budget["tokens"],
        "train_loss": metrics.get("train_loss"),
        "tokens_per_second": metrics["tokens_per_second"],
        "resumed_from_step": metrics["resumed_from_step"],
        "blocks": len(blocks),
        "block_size": block_size,
        "trainable_parameters": trainable,
        "parameters": sum(p.numel() for p in model.parameters()),
        "wall_s": time.perf_counter() - start,
    }
