"""Method settings and the training budget as the config states them: defaults filled in, impossible
combinations refused by name.
Kept free of torch so that the Snakefile (which validates methods at parse time) loads in a fraction of a second."""

from __future__ import annotations

import math


def method_spec(name: str, spec: dict | None) -> dict:
    """The method's settings with defaults filled in; combinations that cannot work are refused by name."""
    spec = dict(spec or {})
    spec.setdefault("objective", "cda")
    spec.setdefault("cda_mode", "two_sided")
    spec.setdefault("replay_ratio", 0.0)
    spec.setdefault("l2sp", 0.0)
    spec.setdefault("ewc", 0.0)
    spec.setdefault("sizes", None)
    if spec.get("wise_ft"):
        extra = sorted(
            k for k in spec if k not in ("wise_ft", "objective", "cda_mode", "replay_ratio", "l2sp", "ewc", "sizes")
        )
        if extra or spec["objective"] != "cda" or spec["replay_ratio"] or spec["l2sp"] or spec["ewc"]:
            raise ValueError(
                f"method_settings.{name}: wise_ft interpolates another method's checkpoint and takes no "
                f"training settings (found {extra or 'training settings'})"
            )
    if spec.get("lora") and (spec["l2sp"] or spec["ewc"]):
        raise ValueError(
            f"method_settings.{name}: l2sp/ewc pull the full weights towards the base, but lora trains "
            "adapters only (the base weights stay fixed); use one or the other"
        )
    if spec["l2sp"] and spec["ewc"]:
        raise ValueError(f"method_settings.{name}: choose one of l2sp and ewc")
    return spec


def method_specs(names: list[str], settings: dict) -> dict[str, dict]:
    """{name: settings with defaults} of the methods to run, each looked up in method_settings."""
    unknown = [n for n in names if n not in settings]
    if unknown:
        raise ValueError(f"methods {unknown} are not defined in method_settings (defined: {sorted(settings)})")
    if "base" in names:
        raise ValueError("'base' names the base model's rows and cannot be a method")
    return {name: method_spec(name, settings[name]) for name in names}


def changes_objective(spec: dict) -> bool:
    """Whether the method is another debiasing objective (one-sided CDA, dropout) rather than a forgetting remedy
    on top of two-sided CDA: finding 3 compares both with plain CDA, but labels them apart."""
    return spec["objective"] != "cda" or spec["cda_mode"] != "two_sided"


def training_settings(spec: dict) -> dict:
    """The settings a fine-tuning job of this method uses: all but `sizes` (which runs exist, not how they train),
    so that running a method at one more CDA size reruns nothing that exists."""
    return {k: v for k, v in spec.items() if k != "sizes"}


def method_sizes(specs: dict[str, dict], sizes: list[int]) -> dict[str, list[int]]:
    """{method: the CDA sizes it runs at}: its `sizes` (a subset of cda.sizes, e.g. remedies compared at the
    largest size only) or every size; a WiSE-FT method needs its source's final steps at each of its sizes."""
    chosen = {}
    for name, spec in specs.items():
        own = spec.get("sizes")
        if own is not None:
            unknown = [s for s in own if s not in sizes]
            if unknown or not own:
                raise ValueError(f"method_settings.{name}.sizes: {own} must be a non-empty subset of cda.sizes {sizes}")
        chosen[name] = [s for s in sizes if own is None or s in own]  # in cda.sizes order
    for name, source in wise_ft_sources(specs).items():
        missing = [s for s in chosen[name] if s not in chosen[source]]
        if missing:
            raise ValueError(
                f"method_settings.{name}.sizes: {source!r} (wise_ft.of) does not run at sizes {missing}; "
                f"it runs at {chosen[source]}"
            )
    return chosen


def wise_ft_sources(specs: dict[str, dict]) -> dict[str, str]:
    """{WiSE-FT method: the trained method it interpolates}; the source must be a trained method that runs."""
    sources = {}
    for name, spec in specs.items():
        wise = spec.get("wise_ft")
        if not wise:
            continue
        source = wise["of"]
        if source not in specs or specs[source].get("wise_ft"):
            trained = [m for m, s in specs.items() if not s.get("wise_ft")]
            raise ValueError(
                f"method_settings.{name}.wise_ft.of: {source!r} is not a trained method in `methods`; "
                f"expected one of {trained}"
            )
        sources[name] = source
    return sources


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

    An epoch is the Trainer's: ceil(ceil(blocks / batch_size) / gradient_accumulation_steps) updates (the last
    batch of an epoch may be short); a step sees batch_size x gradient_accumulation_steps blocks."""
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
