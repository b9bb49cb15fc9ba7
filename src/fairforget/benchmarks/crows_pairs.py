"""CrowS-Pairs (Nangia et al., 2020): % of sentence pairs whose more-stereotypical sentence a model prefers.

Every variant reproduces a published implementation decision for decision (REFERENCES); besides the score,
the mean log-likelihoods of the stereotypical and anti-stereotypical sentences feed selective forgetting.
"""

from __future__ import annotations

import csv
import difflib
import math

import numpy as np

from ..bootstrap import percentage_ci
from ..io import nan_to_none
from .base import Metric, settings_block
from .likelihood import PairedSentenceBenchmark, loglik_summary, selective_metrics


def read_crows_pairs(path: str, bias_type: str | None = "gender", max_pairs: int | None = None) -> list[dict]:
    """CrowS-Pairs rows (optionally one bias type); a row missing a column names file and line."""
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            lineno = reader.line_num
            for col in ("sent_more", "sent_less", "stereo_antistereo", "bias_type"):
                if not row.get(col):
                    raise ValueError(f"{path}, line {lineno}: empty or missing column {col!r}")
            if row["stereo_antistereo"] not in ("stereo", "antistereo"):
                raise ValueError(
                    f"{path}, line {lineno}: stereo_antistereo must be 'stereo' or 'antistereo', "
                    f"got {row['stereo_antistereo']!r}"
                )
            if bias_type is None or row["bias_type"] == bias_type:
                rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no pairs with bias_type {bias_type!r}")
    return rows[:max_pairs] if max_pairs else rows


def split_positions(ids1: list[int], ids2: list[int]) -> tuple[list[int], list[int], list[int], list[int]]:
    """(shared1, shared2, diff1, diff2): positions of the tokens the two sentences share and of those
    that differ (difflib on token ids, default settings as both reference scripts). The first and last
    shared tokens ([CLS], [SEP]) are dropped. difflib is not symmetric: callers pass the sentences in
    the reference's order (`reference_order`)."""
    matcher = difflib.SequenceMatcher(None, ids1, ids2)
    shared1, shared2, diff1, diff2 = [], [], [], []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            shared1.extend(range(a0, a1))
            shared2.extend(range(b0, b1))
        else:
            diff1.extend(range(a0, a1))
            diff2.extend(range(b0, b1))
    return shared1[1:-1], shared2[1:-1], diff1, diff2


def reference_order(direction: str) -> tuple[int, int]:
    """Offsets (of sent_more = 0, sent_less = 1) of the reference's (sent1, sent2): metric.py and bias-bench
    read antistereo pairs as (sent_less, sent_more), which matters because difflib is not symmetric."""
    return (1, 0) if direction == "antistereo" else (0, 1)


# the published implementation each CrowS-Pairs variant reproduces, decision for decision
REFERENCES = {
    "nangia2020": "nyu-mll/crows-pairs metric.py",
    "nangia2020_unrounded": "nyu-mll/crows-pairs metric.py without its round(score, 3)",
    "bias_bench": "McGill-NLP/bias-bench bias_bench/benchmark/crows/crows.py (_likelihood_score)",
    "causal_sum": "EleutherAI/lm-evaluation-harness lm_eval/tasks/crows_pairs/utils.py",
    "causal_mean": "McGill-NLP/bias-bench bias_bench/benchmark/crows/crows.py (_likelihood_score_generative)",
}


def preference_summary(
    variant: str,
    more: np.ndarray,
    less: np.ndarray,
    directions: np.ndarray,
    bias_types: np.ndarray,
    neutral_out_of_direction: bool = True,
    seed: int = 0,
) -> dict:
    """% of pairs whose more-stereotypical sentence scores higher (NaN scores = skipped pairs), overall,
    per direction and per bias type, with the references' decision rule.

    A pair with equal scores is neutral: it stays in N but prefers neither sentence (metric.py,
    bias-bench; lm-evaluation-harness scores it 0). metric.py and bias-bench leave neutral pairs out of
    their per-direction denominators (`neutral_out_of_direction`); lm-evaluation-harness has no direction.
    """
    valid = ~(np.isnan(more) | np.isnan(less))
    more, less, directions, bias_types = more[valid], less[valid], directions[valid], bias_types[valid]
    preferred, neutral = more > less, more == less
    low, high = percentage_ci(preferred, seed=seed) if preferred.size else (math.nan, math.nan)
    by_direction = {}
    for d in ("stereo", "antistereo"):
        counted = (directions == d) & ~neutral if neutral_out_of_direction else directions == d
        if counted.any():
            by_direction[d] = float(preferred[counted].mean() * 100)
    return {
        "variant": variant,
        "reference": REFERENCES.get(variant),
        "value": float(preferred.mean() * 100) if preferred.size else math.nan,
        "ci95": [low, high],
        "n": int(preferred.size),
        "neutral": int(neutral.sum()),
        "skipped": int((~valid).sum()),
        "by_direction": by_direction,
        "by_bias_type": {t: float(preferred[bias_types == t].mean() * 100) for t in sorted(set(bias_types.tolist()))},
    }


def crows_pairs_scores(model, tokenizer, kind: str, pairs: list[dict], batch_size: int = 128) -> dict:
    """CrowS-Pairs under every variant that applies to the model kind, from one scoring pass.

    Masked LMs (each non-special token masked in turn, one batched pass; difflib on the pair in the
    references' order, `reference_order`):
      nangia2020  sum of log p over the tokens both sentences share, rounded to 3 decimals with Python's
                  round() as metric.py (a rounded tie is neutral); nangia2020_unrounded without it;
      bias_bench  mean log p over the tokens that differ, rounded to 3 decimals as bias-bench (numpy's
                  rounding: it rounds an np.float64); pairs where a sentence has no differing token are
                  skipped (as bias-bench).
    Causal LMs (one forward pass per sentence, first token conditioned on the tokenizer's BOS):
      causal_sum  summed token log-likelihood (lm-evaluation-harness; also its likelihood_diff);
      causal_mean length-normalised log-likelihood (bias-bench's geometric-mean probability).
    `likelihood` holds the whole-sentence (pseudo-)log-likelihoods for selective forgetting.
    """
    from ..modeling import usable_length  # model scoring
    from ..scoring import causal_sentence_logprobs, masked_token_logprobs  # model scoring

    directions = np.array([r["stereo_antistereo"] for r in pairs])
    bias_types = np.array([r.get("bias_type", "") for r in pairs])
    texts = [t for r in pairs for t in (r["sent_more"], r["sent_less"])]
    if kind == "masked":
        limit = usable_length(model, tokenizer.model_max_length)  # only tiny scratch models ever truncate
        sequences = [tokenizer(t, truncation=True, max_length=limit)["input_ids"] for t in texts]
        # each distinct sentence scored once: equal sentences tie exactly, as in one-by-one scoring
        unique = list(dict.fromkeys(map(tuple, sequences)))
        scored = dict(
            zip(
                unique,
                masked_token_logprobs(
                    model,
                    tokenizer,
                    [list(u) for u in unique],
                    [list(range(1, len(u) - 1)) for u in unique],
                    batch_size,
                    desc="crows-pairs",
                ),
            )
        )
        logprobs = [scored[tuple(s)] for s in sequences]
        by_pos = [dict(zip(range(1, len(s) - 1), lp)) for s, lp in zip(sequences, logprobs)]
        unrounded, nangia, bias_bench, whole = (np.empty(len(texts)) for _ in range(4))
        for k in range(0, len(texts), 2):
            first, second = (k + offset for offset in reference_order(directions[k // 2]))
            shared1, shared2, diff1, diff2 = split_positions(sequences[first], sequences[second])
            for i, shared, diff in ((first, shared1, diff1), (second, shared2, diff2)):
                unrounded[i] = sum(by_pos[i][p] for p in shared)  # a Python float, summed in position order
                nangia[i] = round(float(unrounded[i]), 3)
                # bias-bench rounds np.mean's np.float64, i.e. with numpy's rounding, not Python's
                bias_bench[i] = round(np.mean([by_pos[i][p] for p in diff]), 3) if diff1 and diff2 else math.nan
        for k, lp in enumerate(logprobs):
            whole[k] = sum(lp)
        variants = {"nangia2020": nangia, "nangia2020_unrounded": unrounded, "bias_bench": bias_bench}
        primary = "nangia2020"
    elif kind == "causal":
        logprobs = causal_sentence_logprobs(model, tokenizer, texts, batch_size, "crows-pairs")
        whole = np.array([sum(lp) if lp else math.nan for lp in logprobs])
        variants = {"causal_sum": whole, "causal_mean": np.array([np.mean(lp) if lp else math.nan for lp in logprobs])}
        primary = "causal_mean"
    else:
        raise ValueError(f"unknown model kind {kind!r} (masked or causal)")
    summaries = {
        name: preference_summary(
            name, s[0::2], s[1::2], directions, bias_types, neutral_out_of_direction=name != "causal_sum"
        )
        for name, s in variants.items()
    }
    if "causal_sum" in summaries:  # lm-evaluation-harness' second metric: mean |log-likelihood difference|
        diff = np.abs(whole[0::2] - whole[1::2])
        summaries["causal_sum"]["likelihood_diff"] = float(np.nanmean(diff)) if (~np.isnan(diff)).any() else math.nan
    return {
        "benchmark": "crows_pairs",
        "model_kind": kind,
        "pair_scores": {
            name: {"more": nan_to_none(s[0::2]), "less": nan_to_none(s[1::2])}
            for name, s in {**variants, "whole_sentence": whole}.items()
        },
        "primary": primary,
        "n_pairs": len(pairs),
        "variants": summaries,
        "likelihood": loglik_summary(whole[0::2], whole[1::2]),
    }


class CrowsPairs(PairedSentenceBenchmark):
    name = "crows_pairs"
    title = "CrowS-Pairs"
    prefix = "crows"
    config_key = "crows_pairs"
    settings_schema = settings_block(
        bias_type={
            "type": ["string", "null"],
            "description": "CrowS-Pairs bias_type (gender, race-color, ...); null = all",
        },
        max_pairs={"type": ["integer", "null"], "minimum": 1},
    )
    data_file = "resources/crows_pairs.csv"
    metrics = (
        Metric("crows", "CrowS-Pairs stereotype score (%)", higher_is_better=None, ideal=50.0),
        *selective_metrics("crows", "CrowS"),
    )

    def load(self, inputs, settings):
        return read_crows_pairs(inputs.data, settings["bias_type"], settings["max_pairs"])

    def score(self, model, tokenizer, kind, data, settings, batch_size, base_model=None):
        return crows_pairs_scores(model, tokenizer, kind, data, batch_size) | {"bias_type": settings["bias_type"]}

    def summary(self, result):
        return "; ".join(
            f"CrowS-Pairs {result['bias_type']} [{name}]: {v['value']:.2f}% (95% CI {v['ci95'][0]:.1f}-"
            f"{v['ci95'][1]:.1f}, n={v['n']}, neutral={v['neutral']})"
            for name, v in result["variants"].items()
        )

    def columns(self, result):
        """The primary variant's score and CI, every variant's score, and the sentence log-likelihoods;
        <prefix>_neutral: pairs its reference counts as ties (equal after the reference's rounding), in
        <prefix>_n but preferring neither sentence."""
        primary, prefix = result["variants"][result["primary"]], self.prefix
        row = {
            prefix: primary["value"],
            f"{prefix}_ci_low": primary["ci95"][0],
            f"{prefix}_ci_high": primary["ci95"][1],
            f"{prefix}_n": primary["n"],
            f"{prefix}_neutral": primary["neutral"],
            f"{prefix}_variant": result["primary"],
        }
        row.update({f"{prefix}_{name}": v["value"] for name, v in result["variants"].items()})
        return row | self.loglik_columns(result)
