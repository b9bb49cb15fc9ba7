"""The training budget as the config states it (the `finetune` block): its unit, its checkpoints' names and their
steps. Kept free of torch so that the Snakefile (which reads it at parse time) loads in a fraction of a second."""

from __future__ import annotations

import math

# Training budget (the `finetune` config block). With a fixed number of steps the CDA size is confounded with
# repetition: the smallest subset is seen many times, the largest maybe never fully. `budget: epochs` trains
# every subset for the same number of passes; `budget: tokens` fixes the training tokens independently of
# batch and block size. The DAG needs the checkpoint names before any subset exists, but the step count of an
# epoch budget depends on the subset's block count; checkpoints of epoch and token budgets are therefore
# named by their share of the budget (frac0.5, frac1), those of step budgets by their step (step250).
BUDGET_UNITS = ("steps", "epochs", "tokens")
BUDGET_KEYS = {
    "steps": ("max_steps", "save_steps"),
    "epochs": ("epochs", "save_fractions"),
    "tokens": ("tokens", "save_fractions"),
}


def budget_unit(finetune: dict) -> str:
    """The unit of the training budget: finetune.budget, `steps` (max_steps) when absent."""
    unit = finetune.get("budget") or "steps"
    if unit not in BUDGET_UNITS:
        raise ValueError(f"finetune.budget: {unit!r} is not one of {list(BUDGET_UNITS)}")
    return unit


def budget_description(finetune: dict) -> str:
    """The training budget in words, for the captions of figures whose x axis is CDA size: with a fixed number
    of steps the size axis is confounded with how often each sentence is repeated."""
    unit = budget_unit(finetune)
    if unit == "steps":
        tokens = (
            finetune["max_steps"]
            * finetune["batch_size"]
            * finetune.get("gradient_accumulation_steps", 1)
            * finetune["max_length"]
        )
        return (
            f"a fixed budget of {finetune['max_steps']:,} optimizer steps per run (about {tokens:,} training "
            f"tokens), whatever the CDA size: smaller subsets are repeated more often"
        )
    if unit == "epochs":
        return f"{finetune['epochs']:g} passes over each run's CDA subset: larger subsets train for more steps"
    return f"a fixed budget of {finetune['tokens']:,} training tokens per run, whatever the CDA size"


def budget_settings(finetune: dict) -> dict:
    """The finetune block without the keys of the budget units not in use, so that a rule's params (and
    reruns) depend only on the values the training reads; `budget: steps`, the default, is left out too, so
    results of a config written before `budget` existed stay up to date."""
    unit = budget_unit(finetune)
    unused = {k for u in BUDGET_UNITS if u != unit for k in BUDGET_KEYS[u]} - set(BUDGET_KEYS[unit])
    if unit == "steps":
        unused.add("budget")
    return {k: v for k, v in finetune.items() if k not in unused}


def checkpoint_names(finetune: dict) -> list[str]:
    """The saved checkpoints of every fine-tuning run, in training order, from the config alone: step<N>
    for a step budget (save_steps and max_steps), frac<f> for epoch and token budgets (save_fractions and 1)."""
    unit = budget_unit(finetune)
    for key in BUDGET_KEYS[unit]:
        if finetune.get(key) is None:
            raise ValueError(f"finetune.{key}: required by finetune.budget = {unit}")
    if unit == "steps":
        max_steps, steps = finetune["max_steps"], finetune["save_steps"]
        if max(steps) > max_steps:
            raise ValueError(f"finetune.save_steps: step {max(steps)} is beyond finetune.max_steps={max_steps}")
        return [f"step{s}" for s in sorted(set(steps) | {max_steps})]
    fractions = finetune["save_fractions"]
    bad = [f for f in fractions if not 0 < f <= 1]
    if bad:
        raise ValueError(f"finetune.save_fractions: {bad} are not shares of the budget in (0, 1]")
    return [f"frac{float(f):g}" for f in sorted(set(map(float, fractions)) | {1.0})]


def checkpoint_position(name: str) -> float:
    """Where a checkpoint sits in training, in the budget's terms: the step of step<N>, the share of frac<f>."""
    if name.startswith("step"):
        return int(name.removeprefix("step"))
    if name.startswith("frac"):
        return float(name.removeprefix("frac"))
    raise ValueError(f"{name!r} is not a checkpoint name (step<N> or frac<f>)")


def resolve_budget(finetune: dict, n_blocks: int, block_size: int) -> dict:
    """The budget in optimizer steps for `n_blocks` training blocks of `block_size` tokens, the step each
    checkpoint is saved at, and how many passes over the blocks and tokens that makes.

    An epoch as the HF training loop counts it: ceil(ceil(blocks / batch_size) / gradient_accumulation_steps)
    updates (the last batch of an epoch may be short); a step sees batch_size x gradient_accumulation_steps blocks."""
    unit = budget_unit(finetune)
    names = checkpoint_names(finetune)
    if n_blocks < 1:
        raise ValueError("no training blocks to budget")
    accumulation = finetune.get("gradient_accumulation_steps", 1)
    blocks_per_step = finetune["batch_size"] * accumulation
    steps_per_epoch = math.ceil(math.ceil(n_blocks / finetune["batch_size"]) / accumulation)
    if unit == "steps":
        total = finetune["max_steps"]
        steps = {name: int(checkpoint_position(name)) for name in names}
    else:
        if unit == "epochs":
            total = math.ceil(finetune["epochs"] * steps_per_epoch - 1e-9)
        else:
            total = math.ceil(finetune["tokens"] / (blocks_per_step * block_size) - 1e-9)
        total = max(1, total)
        steps = {name: max(1, round(checkpoint_position(name) * total)) for name in names}
    return {
        "unit": unit,
        "value": finetune[BUDGET_KEYS[unit][0]],
        "max_steps": total,
        "checkpoint_steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "passes": total / steps_per_epoch,
        "tokens": total * blocks_per_step * block_size,
    }
