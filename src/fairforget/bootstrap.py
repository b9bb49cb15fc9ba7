"""Bootstrap intervals over scored sequences (numpy only: the analysis environment has no torch)."""

from __future__ import annotations

import numpy as np


def sequence_bootstrap_ci(per_sequence: list[np.ndarray], n_resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile CI of a per-token mean, resampling whole sequences (neighbouring tokens are not
    independent draws)."""
    sums = np.array([v.sum() for v in per_sequence])
    counts = np.array([v.size for v in per_sequence])
    return paired_sequence_bootstrap_ci(sums, np.zeros_like(sums), counts, n_resamples, seed)


def paired_sequence_bootstrap_ci(sums, base_sums, counts, n_resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile CI of the difference of two per-token means over the same sequences (a checkpoint's
    and its base model's NLL: overall forgetting), resampling whole sequences for both at once. Pairing removes
    the text's own difficulty, which both models share, from the interval."""
    sums, base_sums, counts = (np.asarray(v, dtype=float) for v in (sums, base_sums, counts))
    if not sums.shape == base_sums.shape == counts.shape:
        raise ValueError(f"paired bootstrap needs the same sequences: {sums.shape}, {base_sums.shape}, {counts.shape}")
    idx = np.random.default_rng(seed).integers(0, len(sums), size=(n_resamples, len(sums)))
    differences = (sums[idx].sum(axis=1) - base_sums[idx].sum(axis=1)) / counts[idx].sum(axis=1)
    return [float(np.percentile(differences, 2.5)), float(np.percentile(differences, 97.5))]
