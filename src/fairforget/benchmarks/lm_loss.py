"""Held-out language-modelling loss: overall forgetting, on WikiText-103 test and on the corpus' in-domain
held-out slice. Two registry entries share this module and their settings block (`forgetting`)."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

from ..bootstrap import paired_sequence_bootstrap_ci
from ..io import read_jsonl
from .base import Benchmark, Metric

SETTINGS = ("max_tokens", "max_length", "stride", "kl")  # `indomain` only switches the second entry on


def columns(result: dict, prefix: str) -> dict:
    low, high = result.get("nll_ci95", [None, None])
    return {
        f"{prefix}_measure": result["measure"],
        f"{prefix}_nll": result["nll"],
        f"{prefix}_nll_ci_low": low,
        f"{prefix}_nll_ci_high": high,
        f"{prefix}_perplexity": result["perplexity"],
        f"{prefix}_tokens": result["n_tokens"],
        f"{prefix}_kl_base": result.get("kl_base"),
    }


def forgetting_column(prefix: str) -> str:
    """forgetting (WikiText, prefix lm) or forgetting_<text> (prefix lm_<text>)."""
    return "forgetting" + prefix.removeprefix("lm")


def paired_forgetting_ci(checkpoint: dict, base: dict, where: str) -> list[float]:
    """95% CI of checkpoint minus base NLL, resampling the scored sequences both share (paired); NaN for result
    files written before per-sequence NLLs were stored."""
    if "per_sequence_nll" not in checkpoint or "per_sequence_nll" not in base:
        return [math.nan, math.nan]
    if checkpoint["per_sequence_tokens"] != base["per_sequence_tokens"]:
        raise ValueError(
            f"{where}: the checkpoint and its base model were scored on different sequences "
            f"({checkpoint['n_sequences']} vs {base['n_sequences']}); rerun both with the same settings"
        )
    return paired_sequence_bootstrap_ci(
        checkpoint["per_sequence_nll"], base["per_sequence_nll"], checkpoint["per_sequence_tokens"]
    )


def overall_forgetting(df, prefix: str, base_value, paired_results) -> dict:
    """Overall forgetting = checkpoint minus base held-out NLL (positive = forgotten), relative to the base
    NLL, and its paired bootstrap CI over the scored sequences."""
    name = forgetting_column(prefix)
    cis = [paired_forgetting_ci(checkpoint, base, where) for checkpoint, base, where in paired_results()]
    return {
        name: df[f"{prefix}_nll"] - base_value(f"{prefix}_nll"),
        f"{name}_rel": (df[f"{prefix}_nll"] - base_value(f"{prefix}_nll")) / base_value(f"{prefix}_nll"),
        f"{name}_ci_low": [c[0] for c in cis],
        f"{name}_ci_high": [c[1] for c in cis],
    }


def load(inputs, settings: dict) -> list[str]:
    from ..scoring import heldout_texts  # model scoring

    return heldout_texts(read_jsonl(inputs.data))


def score(model, tokenizer, kind, texts, settings, batch_size, base_model=None, dataset: str = "") -> dict:
    from ..scoring import heldout_lm_loss  # model scoring

    result = heldout_lm_loss(
        model,
        tokenizer,
        kind,
        texts,
        settings["max_tokens"],
        settings["max_length"],
        settings["stride"],
        batch_size,
        base_model,
    )
    if settings["kl"] and base_model is None:
        result["kl_base"] = 0.0  # the base model itself
    return result | {"dataset": dataset, "model_kind": kind}


def summary(result: dict) -> str:
    return (
        f"{result['dataset']}: {result['measure']} NLL {result['nll']:.4f}, perplexity {result['perplexity']:.2f} "
        f"over {result['n_tokens']} tokens, KL(base||model) {result.get('kl_base')}"
    )


BENCHMARK = Benchmark(
    name="lm_loss",
    title="held-out LM loss (WikiText-103 test)",
    prefix="lm",
    config_key="forgetting",
    settings=SETTINGS,
    settings_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["max_tokens", "max_length", "stride", "kl", "indomain"],
        "properties": {
            "max_tokens": {
                "type": "integer",
                "minimum": 10,
                "description": "held-out tokens scored (WikiText-103 test, and in-domain text)",
            },
            "max_length": {"type": "integer", "minimum": 8},
            "stride": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "causal LMs: new tokens per sliding window (null = max_length / 2)",
            },
            "kl": {
                "type": "boolean",
                "description": "also KL(base || checkpoint) of the predicted distributions at the scored positions",
            },
            "indomain": {
                "type": "boolean",
                "description": "also score the in-domain held-out corpus slice (corpus_heldout_fraction)",
            },
        },
    },
    inputs=lambda settings: {"data": "resources/wikitext103_test.jsonl"},
    load=load,
    score=partial(score, dataset="wikitext-103 test"),
    summary=summary,
    columns=columns,
    against_base=overall_forgetting,
    uses_base_model=lambda settings: settings["kl"],
    selectable=False,
    enabled=lambda evaluation: True,  # overall forgetting is what every figure needs
    metrics=(
        Metric("forgetting", "overall forgetting (WikiText NLL − base NLL)", higher_is_better=False, ideal=0.0),
        Metric("forgetting_rel", "overall forgetting (relative to the base NLL)", higher_is_better=False, ideal=0.0),
        Metric("lm_kl_base", "KL(base ‖ checkpoint) on held-out WikiText", higher_is_better=False, ideal=0.0),
    ),
)

# The same on the corpus' in-domain held-out slice (text no training step saw, made by the split_corpus rule):
# overall forgetting in the domain CDA was drawn from, next to WikiText.
INDOMAIN = replace(
    BENCHMARK,
    name="lm_loss_indomain",
    title="held-out LM loss (in-domain corpus slice)",
    prefix="lm_indomain",
    inputs=lambda settings: {"data": "results/corpus/heldout.jsonl"},
    score=partial(score, dataset="in-domain held-out corpus"),
    enabled=lambda evaluation: evaluation["forgetting"]["indomain"],
    metrics=(
        Metric(
            "forgetting_indomain",
            "overall forgetting, in-domain (held-out corpus NLL − base)",
            higher_is_better=False,
            ideal=0.0,
        ),
        Metric(
            "forgetting_indomain_rel",
            "overall forgetting, in-domain (relative to the base NLL)",
            higher_is_better=False,
            ideal=0.0,
        ),
        Metric(
            "lm_indomain_kl_base", "KL(base ‖ checkpoint) on held-out in-domain text", higher_is_better=False, ideal=0.0
        ),
    ),
)
