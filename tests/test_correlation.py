"""The statistics against scipy on fixed inputs, and bootstrap CI coverage on synthetic data."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairforget.correlation import (Bootstrap, correlation, correlation_table, groups, ols, partial_correlation,
                                    partial_table, regression_table)

X = np.array([0.0, 0.12, 0.31, 0.33, 0.52, 0.61, 0.75, 0.9, 1.2, 1.4])
Y = np.array([0.81, 0.80, 0.77, 0.79, 0.74, 0.70, 0.72, 0.66, 0.61, 0.63])


@pytest.mark.parametrize("method, fn", [("pearson", stats.pearsonr), ("spearman", stats.spearmanr),
                                        ("kendall", stats.kendalltau)])
def test_correlation_matches_scipy(method, fn):
    expected = fn(X, Y)
    got = correlation(X, Y, method, Bootstrap(n_resamples=300))
    assert got["r"] == pytest.approx(expected.statistic) and got["p"] == pytest.approx(expected.pvalue)
    assert got["n"] == 10 and got["ci_low"] <= got["r"] <= got["ci_high"] and got["ci_high"] < 0


def test_vectorised_bootstrap_statistics_match_scipy_per_resample():
    """The vectorised Pearson / Spearman / Kendall tau-b used inside the bootstrap equal scipy's on each
    resample, ties included (resamples repeat rows)."""
    from fairforget.correlation import _kendall_along, _pearson_along, _spearman_along

    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(5, 12)), rng.integers(0, 4, size=(5, 12)).astype(float)  # y with many ties
    xs[:, :3] = xs[:, 3:4]  # and ties in x
    for x, y, r_p, r_s, r_k in zip(xs, ys, _pearson_along(xs, ys), _spearman_along(xs, ys), _kendall_along(xs, ys)):
        assert r_p == pytest.approx(stats.pearsonr(x, y).statistic)
        assert r_s == pytest.approx(stats.spearmanr(x, y).statistic)
        assert r_k == pytest.approx(stats.kendalltau(x, y).statistic)


def test_degenerate_inputs_give_nan_not_errors():
    assert math.isnan(correlation([1, 2], [3, 4], "pearson")["r"])
    assert math.isnan(correlation([1, 1, 1, 1], [3, 4, 5, 6], "spearman")["r"])
    assert math.isnan(partial_correlation([1, 2, 3], [2, 3, 5], [[1], [2], [3]])["r"])


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_bootstrap_ci_coverage(method):
    """95% CIs of Pearson r on bivariate normal samples (rho = 0.5, n = 40) cover rho in about 95% of draws."""
    rng = np.random.default_rng(0)
    rho, n, reps = 0.5, 40, 200
    cov = [[1, rho], [rho, 1]]
    covered = 0
    for rep in range(reps):
        x, y = rng.multivariate_normal([0, 0], cov, size=n).T
        res = correlation(x, y, "pearson", Bootstrap(n_resamples=500, method=method, seed=rep))
        covered += res["ci_low"] <= rho <= res["ci_high"]
    # binomial sd at 0.95 over 200 draws is 0.015: accept 0.89-0.99
    assert 0.89 <= covered / reps <= 0.99, covered / reps


def test_partial_correlation_matches_closed_form():
    rng = np.random.default_rng(3)
    z = rng.normal(size=30)
    x = z + rng.normal(size=30)
    y = -z + 0.5 * x + rng.normal(size=30)
    rxy, rxz, ryz = (stats.pearsonr(a, b).statistic for a, b in ((x, y), (x, z), (y, z)))
    expected = (rxy - rxz * ryz) / math.sqrt((1 - rxz ** 2) * (1 - ryz ** 2))
    got = partial_correlation(x, y, z.reshape(-1, 1), Bootstrap(n_resamples=300))
    assert got["r"] == pytest.approx(expected) and got["dof"] == 27
    t = expected * math.sqrt(27 / (1 - expected ** 2))
    assert got["p"] == pytest.approx(2 * stats.t.sf(abs(t), 27))
    assert got["ci_low"] < got["r"] < got["ci_high"]


def test_partial_correlation_removes_a_confounder():
    """x and y both follow z: strongly correlated, but not once z is controlled for."""
    rng = np.random.default_rng(4)
    z = np.linspace(0, 10, 60)
    x, y = z + rng.normal(scale=0.5, size=60), 2 * z + rng.normal(scale=0.5, size=60)
    assert correlation(x, y, "pearson")["r"] > 0.95
    assert abs(partial_correlation(x, y, z.reshape(-1, 1))["r"]) < 0.3


def test_ols_matches_linregress_and_recovers_coefficients():
    res = ols(Y, {"x": X})
    lin = stats.linregress(X, Y)
    slope = res.set_index("term").loc["x"]
    assert slope["coef"] == pytest.approx(lin.slope) and slope["se"] == pytest.approx(lin.stderr)
    assert slope["p"] == pytest.approx(lin.pvalue) and slope["r2"] == pytest.approx(lin.rvalue ** 2)
    assert res.set_index("term").loc["intercept", "coef"] == pytest.approx(lin.intercept)
    assert slope["std_coef"] == pytest.approx(lin.rvalue)  # one predictor: standardised slope = r
    half = stats.t.ppf(0.975, 8) * lin.stderr
    assert (slope["ci_low"], slope["ci_high"]) == pytest.approx((lin.slope - half, lin.slope + half))
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=20), rng.normal(size=20)
    exact = ols(1.5 - 2.0 * a + 0.25 * b, {"a": a, "b": b}).set_index("term")["coef"]
    assert exact.to_dict() == pytest.approx({"intercept": 1.5, "a": -2.0, "b": 0.25})
    assert ols([1.0, 2.0], {"a": [0.0, 1.0]})["coef"].isna().all()  # no residual degrees of freedom


def metrics_frame():
    rng = np.random.default_rng(6)
    rows = []
    for model, scale in (("bert", 1.0), ("llama", 2.0)):
        rows.append(dict(model=model, method="base", size=0, forgetting=0.0, sst2_score=0.8))
        for method in ("cda", "replay"):
            for size in (100, 200, 400):
                f = scale * size / 400 + rng.normal(scale=0.05)
                rows.append(dict(model=model, method=method, size=size, forgetting=f, sst2_score=0.8 - 0.1 * f))
    return pd.DataFrame(rows)


def test_groups_give_every_method_its_base_rows():
    df = metrics_frame()
    found = {(by, label): len(g) for by, label, g in groups(df, ["pooled", "model", "method", "model+method"])}
    assert found[("pooled", "all")] == 14 and found[("model", "bert")] == 7
    assert found[("method", "cda")] == 8 and ("method", "base") not in found  # 3 sizes x 2 models + 2 bases
    assert found[("model+method", "llama/replay")] == 4


def test_tables_over_groups():
    df = metrics_frame()
    boot = Bootstrap(n_resamples=200)
    corr = correlation_table(df, ["forgetting", "size"], ["sst2_score"], ["pooled", "model"], boot)
    assert len(corr) == 3 * 2 * 3  # groups x xs x methods
    bert = corr[(corr["group"] == "bert") & (corr["x"] == "forgetting") & (corr["method"] == "pearson")].iloc[0]
    assert bert["r"] == pytest.approx(-1.0) and bert["n"] == 7
    part = partial_table(df, "forgetting", ["sst2_score"], ["size"], ["model"], boot)
    assert list(part["group"]) == ["bert", "llama"] and (part["dof"] == 4).all()
    reg = regression_table(df, ["sst2_score"], ["forgetting", "size"], ["pooled"], 0.95)
    assert list(reg["term"]) == ["intercept", "forgetting", "size"]
    assert reg.set_index("term").loc["forgetting", "coef"] == pytest.approx(-0.1)
