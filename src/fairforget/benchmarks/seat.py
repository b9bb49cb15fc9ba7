"""SEAT (May et al., 2019): WEAT effect sizes of sentence embeddings and sent-bias' permutation p-values."""

from __future__ import annotations

import itertools
import json
import logging
import math

import numpy as np

from ..runs import as_list
from .base import Benchmark, Metric, settings_block

log = logging.getLogger(__name__)


def read_seat_test(path: str) -> dict:
    """A SEAT test file (one JSON object with targ1, targ2, attr1, attr2 -> {category, examples})."""
    with open(path) as f:
        try:
            test = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not one JSON object ({err})") from None
    for key in ("targ1", "targ2", "attr1", "attr2"):
        examples = test.get(key, {}).get("examples") if isinstance(test.get(key), dict) else None
        if not examples or not all(isinstance(e, str) for e in examples):
            raise ValueError(f"{path}: {key!r} must be {{'category': ..., 'examples': [non-empty list of str]}}")
    return test


def association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) = mean cos(w, a) - mean cos(w, b) for every row w (all vectors unit length)."""
    return (w @ a.T).mean(axis=1) - (w @ b.T).mean(axis=1)


def weat_effect_size(x, y, a, b) -> float:
    """Caliskan et al.'s effect size: difference of mean associations over their sample std (X u Y)."""
    s_x, s_y = association(x, a, b), association(y, a, b)
    return float((s_x.mean() - s_y.mean()) / np.concatenate([s_x, s_y]).std(ddof=1))


def weat_p_value(
    s_xy: np.ndarray, n_x: int, n_samples: int = 100_000, rng: np.random.RandomState | int = 0
) -> tuple[float, bool]:
    """One-sided permutation p-value of the WEAT statistic, as sent-bias' weat.py (bias-bench's copy).

    s_xy: associations of X then Y (|X| = |Y|, which sent-bias asserts). Exact over all C(2n, n)
    partitions when there are at most n_samples of them; else the observed partition counted once
    plus n_samples - 1 partitions from successive in-place shuffles of one legacy RandomState (sent-bias
    shuffles numpy's global RNG, seeded once per run: pass one RandomState to every test in order to
    draw its partitions). A partition counts when its X-sum is >= the observed one, compared exactly.
    Returns (p, exact).
    """
    if 2 * n_x != len(s_xy):
        raise ValueError(f"WEAT's permutation test needs equally large target sets, got {n_x} and {len(s_xy) - n_x}")
    rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    observed = s_xy[np.arange(n_x)].sum()
    if math.comb(len(s_xy), n_x) <= n_samples:
        exceed = total = 0
        combos = itertools.combinations(range(len(s_xy)), n_x)
        while chunk := list(itertools.islice(combos, 50_000)):
            exceed += int((s_xy[np.array(chunk)].sum(axis=1) >= observed).sum())
            total += len(chunk)
        return exceed / total, True
    order = np.arange(len(s_xy))
    exceed = total = 1  # sent-bias' hallucinated positive: p can never be 0 from a sample
    while total < n_samples:
        rows = min(10_000, n_samples - total)
        draws = np.empty((rows, n_x), dtype=np.int64)
        for row in range(rows):  # successive shuffles of one array, as sent-bias: each starts from the last
            rng.shuffle(order)
            draws[row] = order[:n_x]
        exceed += int((s_xy[draws].sum(axis=1) >= observed).sum())
        total += rows
    return exceed / total, False


def seat_scores(
    model,
    tokenizer,
    tests: dict[str, dict],
    pooling: str = "mean",
    n_samples: int = 100_000,
    seed: int = 0,
    batch_size: int = 64,
    kind: str = "masked",
) -> dict:
    """Effect size and permutation p-value of every SEAT test; mean |effect size| over them."""
    from tqdm.auto import tqdm  # model scoring

    from ..scoring import sentence_embeddings  # model scoring

    results = {}
    rng = np.random.RandomState(seed)  # seeded once for all tests, as bias-bench's SEATRunner
    for name, test in tqdm(tests.items(), desc="seat", unit="test"):
        # sent-bias keys encodings by sentence: a repeated example counts once
        examples = {k: list(dict.fromkeys(test[k]["examples"])) for k in ("targ1", "targ2", "attr1", "attr2")}
        if any(len(v) < len(test[k]["examples"]) for k, v in examples.items()):
            log.warning("SEAT %s: repeated examples counted once (as sent-bias)", name)
        x, y, a, b = (
            sentence_embeddings(model, tokenizer, examples[k], pooling, batch_size, kind)
            for k in ("targ1", "targ2", "attr1", "attr2")
        )
        if len(x) != len(y):
            raise ValueError(
                f"SEAT {name}: targ1 and targ2 need as many distinct examples "
                f"(sent-bias' permutation test), got {len(x)} and {len(y)}"
            )
        s_xy = association(np.concatenate([x, y]), a, b)
        p_value, exact = weat_p_value(s_xy, len(x), n_samples, rng)
        results[name] = {
            "effect_size": weat_effect_size(x, y, a, b),
            "p_value": p_value,
            "exact": exact,
            "sizes": {k: len(v) for k, v in examples.items()},
            "categories": {k: test[k].get("category") for k in ("targ1", "targ2", "attr1", "attr2")},
        }
        log.info(
            "SEAT %s: effect size %.3f, p %.4f%s",
            name,
            results[name]["effect_size"],
            p_value,
            " (exact)" if exact else "",
        )
    mean_abs = float(np.mean([abs(r["effect_size"]) for r in results.values()]))
    return {
        "benchmark": "seat",
        "variant": f"may2019_{pooling}_pooling",
        "value": mean_abs,
        "n": len(results),
        "pooling": pooling,
        "n_samples": n_samples,
        "tests": results,
        "mean_abs_effect_size": mean_abs,
    }


class Seat(Benchmark):
    name = "seat"
    title = "SEAT"
    prefix = "seat"
    config_key = "seat"
    settings_schema = settings_block(
        tests={
            "description": "SEAT test names (files of bias-bench's data/seat), e.g. sent-weat6 ... sent-weat8b",
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[A-Za-z0-9_+.-]+$"},
        },
        pooling={
            "enum": ["mean", "first", "last"],
            "description": "sentence vector: mean of the last layer (bias-bench), first token, last token",
        },
        n_samples={
            "type": "integer",
            "minimum": 100,
            "description": "permutations for the p-value (exact test when fewer partitions exist)",
        },
        seed={"type": "integer", "minimum": 0},
    )
    metrics = (Metric("seat_mean_abs_effect", "SEAT mean |effect size|", higher_is_better=False, ideal=0.0),)

    def inputs(self, settings):
        return {"tests": [f"resources/seat/{test}.jsonl" for test in settings["tests"]]}

    def load(self, inputs, settings):
        return {name: read_seat_test(path) for name, path in zip(settings["tests"], as_list(inputs.tests))}

    def score(self, model, tokenizer, kind, data, settings, batch_size, base_model=None):
        result = seat_scores(
            model, tokenizer, data, settings["pooling"], settings["n_samples"], settings["seed"], batch_size, kind
        )
        return result | {"model_kind": kind}

    def summary(self, result):
        return f"SEAT mean |effect size| over {result['n']} tests: {result['mean_abs_effect_size']:.3f}"

    def columns(self, result):
        row = {f"{self.prefix}_mean_abs_effect": result["mean_abs_effect_size"]}
        row.update({f"{self.prefix}_{name}_effect": r["effect_size"] for name, r in result["tests"].items()})
        row.update({f"{self.prefix}_{name}_p": r["p_value"] for name, r in result["tests"].items()})
        return row
