"""The paired stereotype benchmarks (CrowS-Pairs, StereoSet): sentence log-likelihood summaries, and the
selective forgetting the metrics table derives from them against the base model."""

from __future__ import annotations

import numpy as np

from .base import Benchmark, Metric


def loglik_summary(more: np.ndarray, less: np.ndarray) -> dict:
    """Mean log-likelihood of the stereotypical and anti-stereotypical sentences and of their gap
    (pairs where either sentence could not be scored are left out)."""
    valid = ~(np.isnan(more) | np.isnan(less))
    more, less = more[valid], less[valid]
    return {
        "mean_stereo": float(np.mean(more)),
        "mean_anti": float(np.mean(less)),
        "mean_gap": float(np.mean(more - less)),
    }


def selective_metrics(prefix: str, title: str) -> tuple[Metric, ...]:
    """The selective-forgetting columns a paired benchmark adds: what mitigation aims at, so higher is better."""
    return (
        Metric(
            f"selective_{prefix}_gap",
            f"selective forgetting (base − checkpoint {title} stereo−anti log-lik.)",
            higher_is_better=True,
        ),
        Metric(
            f"selective_{prefix}_stereo",
            f"selective forgetting (base − checkpoint {title} stereo log-lik.)",
            higher_is_better=True,
        ),
    )


class PairedSentenceBenchmark(Benchmark):
    """A benchmark of stereotypical / anti-stereotypical sentence pairs whose result holds a `likelihood`
    (loglik_summary)."""

    def loglik_columns(self, result: dict) -> dict:
        """<prefix>_loglik_stereo / _anti / _gap."""
        return {f"{self.prefix}_loglik_{k.removeprefix('mean_')}": v for k, v in result["likelihood"].items()}

    def against_base(self, df, base_value, paired_results) -> dict:
        """selective_<prefix>_stereo and _gap: base minus checkpoint mean log-likelihood of the stereotypical
        sentences, and of the stereotypical - anti-stereotypical gap. Like overall forgetting, positive =
        forgotten (the model finds the stereotypical sentences, or their preference, less likely)."""
        return {
            f"selective_{self.prefix}_{k}": base_value(f"{self.prefix}_loglik_{k}") - df[f"{self.prefix}_loglik_{k}"]
            for k in ("stereo", "gap")
        }
