"""The package's one bootstrap helper: every confidence interval it reports is a percentile interval from
`scipy.stats.bootstrap`, resampling items (pairs, sentences, sequences, dev examples) with replacement and a
seeded generator. The cluster bootstrap of `correlation` is the exception it documents: it resamples whole
runs, with weights, which scipy.stats.bootstrap cannot express. numpy and scipy only: the analysis
environment has no torch."""

from __future__ import annotations

import numpy as np
from scipy import stats


def bootstrap_ci(
    data: tuple,
    statistic,
    *,
    vectorized: bool = True,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> np.ndarray:
    """Percentile CI of statistic(*data), the arrays resampled together (paired) along their first axis.

    With `vectorized`, statistic(*samples, axis=-1) takes a batch of resamples on the last axis (as
    scipy.stats.bootstrap); it may return several statistics at once (leading axes). Returns
    [low, high] (shape (2,) + the statistic's shape). One item can only be resampled into itself: its
    statistic is both ends (scipy refuses fewer than two)."""
    data = tuple(np.asarray(d) for d in data)
    if len(data[0]) < 2:
        one = np.asarray(statistic(*data, axis=-1) if vectorized else statistic(*data), dtype=float)
        return np.array([one, one])
    res = stats.bootstrap(
        data,
        statistic,
        paired=True,
        vectorized=vectorized,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return np.array([res.confidence_interval.low, res.confidence_interval.high], dtype=float)


def sequence_bootstrap_ci(per_sequence: list[np.ndarray], n_resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% CI of a per-token mean, resampling whole sequences (neighbouring tokens are not independent
    draws)."""
    sums = np.array([v.sum() for v in per_sequence])
    counts = np.array([v.size for v in per_sequence])
    return paired_sequence_bootstrap_ci(sums, np.zeros_like(sums), counts, n_resamples, seed)


def paired_sequence_bootstrap_ci(sums, base_sums, counts, n_resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% CI of the difference of two per-token means over the same sequences (a checkpoint's and its base
    model's NLL: overall forgetting), resampling whole sequences for both at once. Pairing removes the text's
    own difficulty, which both models share, from the interval."""
    sums, base_sums, counts = (np.asarray(v, dtype=float) for v in (sums, base_sums, counts))
    if not sums.shape == base_sums.shape == counts.shape:
        raise ValueError(f"paired bootstrap needs the same sequences: {sums.shape}, {base_sums.shape}, {counts.shape}")

    def per_token_difference(s, b, c, axis=-1):
        return (s.sum(axis=axis) - b.sum(axis=axis)) / c.sum(axis=axis)

    return bootstrap_ci((sums, base_sums, counts), per_token_difference, n_resamples=n_resamples, seed=seed).tolist()


def percentage_ci(outcomes, n_resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% CI of the percentage of items with outcome 1 (outcomes: 0/1 per item)."""

    def percentage(x, axis=-1):
        return x.mean(axis=axis) * 100

    return bootstrap_ci((np.asarray(outcomes, dtype=float),), percentage, n_resamples=n_resamples, seed=seed).tolist()
