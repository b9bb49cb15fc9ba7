"""The statistics against scipy on fixed inputs, and bootstrap CI coverage on synthetic data."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairforget.correlation import CORRELATIONS as CORRELATIONS_
from fairforget.correlation import (
    WEIGHTED,
    Bootstrap,
    _cluster_weights,
    _codes,
    _wpartial,
    abs_r_difference,
    correlation,
    correlation_table,
    groups,
    ols,
    partial_correlation,
    partial_table,
    regression_table,
    run_clusters,
)

X = np.array([0.0, 0.12, 0.31, 0.33, 0.52, 0.61, 0.75, 0.9, 1.2, 1.4])
Y = np.array([0.81, 0.80, 0.77, 0.79, 0.74, 0.70, 0.72, 0.66, 0.61, 0.63])


@pytest.mark.parametrize(
    "method, fn", [("pearson", stats.pearsonr), ("spearman", stats.spearmanr), ("kendall", stats.kendalltau)]
)
def test_correlation_matches_scipy(method, fn):
    expected = fn(X, Y)
    got = correlation(X, Y, method, Bootstrap(n_resamples=300))
    assert got["r"] == pytest.approx(expected.statistic) and got["p"] == pytest.approx(expected.pvalue)
    assert got["n"] == 10 and got["ci_low"] <= got["r"] <= got["ci_high"] and got["ci_high"] < 0


def scipy_row_bootstrap(method, boot, x=X, y=Y):
    """scipy.stats.bootstrap of the row indices, the statistic recomputed by scipy on each resample."""
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
    res = stats.bootstrap(
        (np.arange(len(x)),),
        lambda i: fn(x[i], y[i]).statistic,
        n_resamples=boot.n_resamples,
        method=boot.method,
        confidence_level=boot.confidence,
        rng=np.random.default_rng(boot.seed),
    )
    return res.confidence_interval.low, res.confidence_interval.high


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
@pytest.mark.parametrize("ci", ["BCa", "percentile", "basic"])
def test_one_row_per_run_is_scipys_row_bootstrap(method, ci):
    """With one row per run the run bootstrap draws scipy's resamples: its CI is scipy.stats.bootstrap's, to
    rounding, whether the runs are given (one label per row) or not."""
    boot = Bootstrap(n_resamples=200, method=ci, seed=7)
    expected = scipy_row_bootstrap(method, boot)
    for clusters in (None, [f"run{i}" for i in range(len(X))]):
        got = correlation(X, Y, method, boot, clusters=clusters)
        assert (got["ci_low"], got["ci_high"]) == pytest.approx(expected, abs=1e-12)
        assert got["n"] == got["n_clusters"] == len(X)


def test_run_resamples_are_the_statistic_of_the_resampled_table():
    """Each resample's weights are run counts, and the weighted Pearson / Spearman / Kendall tau-b / partial r
    equal scipy's (and the residual formula's) on the table with every drawn run's rows repeated, ties included."""
    rng = np.random.default_rng(1)
    runs = np.repeat(np.arange(6), [1, 3, 3, 2, 4, 3])  # a base row and runs of several checkpoints
    x = rng.integers(0, 5, len(runs)).astype(float)  # ties in x and y
    y, z = rng.normal(size=len(runs)).round(1), rng.normal(size=(len(runs), 1))
    codes, g = _codes(runs.astype(str), len(runs))
    weights = _cluster_weights(codes, g, Bootstrap(n_resamples=6, seed=3))
    for w in weights:
        drawn = np.repeat(np.arange(len(runs)), w.astype(int))
        assert set(np.unique(w)) <= set(range(7)) and np.ptp(w[runs == 1]) == 0  # a run is drawn whole
        assert w.sum() == sum(w[runs == k][0] * (runs == k).sum() for k in range(6))
        for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
            assert WEIGHTED[method](x, y, w[None])[0] == pytest.approx(fn(x[drawn], y[drawn]).statistic)
        expected = partial_correlation(x[drawn], y[drawn], z[drawn])["r"]
        assert _wpartial(x, y, z, w[None])[0] == pytest.approx(expected)


def test_degenerate_inputs_give_nan_not_errors():
    assert math.isnan(correlation([1, 2], [3, 4], "pearson")["r"])
    assert math.isnan(correlation([1, 1, 1, 1], [3, 4, 5, 6], "spearman")["r"])
    assert math.isnan(partial_correlation([1, 2, 3], [2, 3, 5], [[1], [2], [3]])["r"])


def clustered(rng, rho, n_runs=20, per_run=5, noise=0.3):
    """Runs whose checkpoints share the run's x and y levels (run effects correlated rho), plus a little
    per-checkpoint noise: the rows' correlation is rho / (1 + noise^2), but there are n_runs, not n_rows,
    independent observations."""
    a = rng.normal(size=n_runs)
    b = rho * a + math.sqrt(1 - rho**2) * rng.normal(size=n_runs)
    runs = np.repeat(np.arange(n_runs), per_run)
    x = a[runs] + noise * rng.normal(size=len(runs))
    y = b[runs] + noise * rng.normal(size=len(runs))
    return x, y, runs.astype(str), rho / (1 + noise**2)


def test_run_bootstrap_covers_where_the_row_bootstrap_does_not():
    """On clustered data (20 runs of 5 checkpoints) 95% row CIs cover the true r far too rarely; run CIs cover."""
    rng = np.random.default_rng(11)
    reps, covered = 150, {"rows": 0, "runs": 0}
    for rep in range(reps):
        x, y, runs, truth = clustered(rng, 0.5)
        boot = Bootstrap(n_resamples=400, method="percentile", seed=rep)
        for name, clusters in (("rows", None), ("runs", runs)):
            res = correlation(x, y, "pearson", boot, clusters=clusters)
            covered[name] += res["ci_low"] <= truth <= res["ci_high"]
    assert covered["rows"] / reps < 0.8 and 0.86 <= covered["runs"] / reps <= 0.99, covered


def test_run_level_p_values_hold_their_level():
    """No association between runs: scipy's row p (100 "independent" rows) rejects at 5% far too often;
    the run-level p of the correlations, the partial correlation and the OLS slope reject about 5%."""
    rng = np.random.default_rng(12)
    reps = 200
    rejected = {"rows": 0, "pearson": 0, "spearman": 0, "kendall": 0, "partial": 0, "ols": 0}
    for _ in range(reps):
        x, y, runs, _ = clustered(rng, 0.0)
        z = rng.normal(size=len(x))
        rejected["rows"] += stats.pearsonr(x, y).pvalue < 0.05
        for method in CORRELATIONS_:
            rejected[method] += correlation(x, y, method, clusters=runs)["p"] < 0.05
        rejected["partial"] += partial_correlation(x, y, z[:, None], clusters=runs)["p"] < 0.05
        rejected["ols"] += ols(y, {"x": x}, clusters=runs).set_index("term").loc["x", "p"] < 0.05
    rates = {k: v / reps for k, v in rejected.items()}
    assert rates["rows"] > 0.25, rates
    assert all(0.01 <= rates[k] <= 0.10 for k in rates if k != "rows"), rates


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
    expected = (rxy - rxz * ryz) / math.sqrt((1 - rxz**2) * (1 - ryz**2))
    got = partial_correlation(x, y, z.reshape(-1, 1), Bootstrap(n_resamples=300))
    assert got["r"] == pytest.approx(expected) and got["dof"] == 27
    t = expected * math.sqrt(27 / (1 - expected**2))
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
    assert slope["p"] == pytest.approx(lin.pvalue) and slope["r2"] == pytest.approx(lin.rvalue**2)
    assert res.set_index("term").loc["intercept", "coef"] == pytest.approx(lin.intercept)
    assert slope["std_coef"] == pytest.approx(lin.rvalue)  # one predictor: standardised slope = r
    half = stats.t.ppf(0.975, 8) * lin.stderr
    assert (slope["ci_low"], slope["ci_high"]) == pytest.approx((lin.slope - half, lin.slope + half))
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=20), rng.normal(size=20)
    exact = ols(1.5 - 2.0 * a + 0.25 * b, {"a": a, "b": b}).set_index("term")["coef"]
    assert exact.to_dict() == pytest.approx({"intercept": 1.5, "a": -2.0, "b": 0.25})
    assert ols([1.0, 2.0], {"a": [0.0, 1.0]})["coef"].isna().all()  # no residual degrees of freedom


def metrics_frame(seeds=(0,)):
    """Two models on different scales; per seed a base row (as evaluated_models lists it) and runs of two
    checkpoints (steps 1, 2) per method and size."""
    rng = np.random.default_rng(6)
    rows = []
    for model, scale in (("bert", 1.0), ("llama", 2.0)):
        for seed in seeds:
            rows.append(dict(model=model, method="base", size=0, seed=seed, step=0, forgetting=0.0, sst2_score=0.8))
            for method in ("cda", "replay"):
                for size in (100, 200, 400):
                    for step in (1, 2):
                        f = scale * size / 400 * step / 2 + rng.normal(scale=0.05)
                        rows.append(
                            dict(
                                model=model,
                                method=method,
                                size=size,
                                seed=seed,
                                step=step,
                                forgetting=f,
                                sst2_score=0.8 - 0.1 * f,
                            )
                        )
    return pd.DataFrame(rows)


def test_groups_give_every_method_its_base_rows():
    df = metrics_frame()
    found = {(by, label): len(g) for by, label, g in groups(df, ["within_model", "model", "method", "model+method"])}
    assert found[("within_model", "all")] == 26 and found[("model", "bert")] == 13
    assert found[("method", "cda")] == 14 and ("method", "base") not in found  # 3 sizes x 2 steps x 2 models + 2 bases
    assert found[("model+method", "llama/replay")] == 7
    with pytest.raises(ValueError, match="use 'within_model'"):
        list(groups(df, ["pooled"]))


def test_runs_are_model_method_size_seed_and_the_base_is_one():
    df = metrics_frame(seeds=(0, 1))
    runs = run_clusters(df)
    assert len(set(runs)) == 2 * (1 + 2 * 3 * 2)  # per model: its base, 2 methods x 3 sizes x 2 seeds
    assert len(set(runs[df["method"] == "base"])) == 2 and len(set(runs[df["step"] > 0])) == 24


def test_base_counts_once_per_model_with_several_seeds():
    """Two training seeds list the base twice: every statistic counts it once, as with the base row once."""
    two = metrics_frame(seeds=(0, 1))
    once = two[~((two["method"] == "base") & (two["seed"] == 1))]
    boot = Bootstrap(n_resamples=100)
    specs = ["within_model", "model", "method"]
    for fn in (
        lambda d: correlation_table(d, ["forgetting"], ["sst2_score"], specs, boot),
        lambda d: partial_table(d, "forgetting", ["sst2_score"], ["size"], specs, boot),
        lambda d: regression_table(d, ["sst2_score"], ["forgetting"], specs, 0.95),
    ):
        pd.testing.assert_frame_equal(fn(two), fn(once))
    sizes = {(by, label): len(g) for by, label, g in groups(two, specs)}
    assert sizes[("model", "bert")] == 1 + 2 * 3 * 2 * 2 and sizes[("method", "cda")] == 2 * (1 + 3 * 2 * 2)


def test_tables_over_groups_count_rows_and_runs():
    df = metrics_frame()
    boot = Bootstrap(n_resamples=200)
    corr = correlation_table(df, ["forgetting", "size"], ["sst2_score"], ["within_model", "model"], boot)
    assert len(corr) == 3 * 2 * 3  # groups x xs x methods
    bert = corr[(corr["group"] == "bert") & (corr["x"] == "forgetting") & (corr["method"] == "pearson")].iloc[0]
    assert bert["r"] == pytest.approx(-1.0) and bert["n_rows"] == 13 and bert["n_clusters"] == 7
    assert corr[["p", "ci_low", "ci_high"]].notna().all().all()
    part = partial_table(df, "forgetting", ["sst2_score"], ["size"], ["model"], boot)
    assert list(part["group"]) == ["bert", "llama"] and (part["dof"] == 10).all() and (part["n_clusters"] == 7).all()
    reg = regression_table(df, ["sst2_score"], ["forgetting", "size"], ["model"], 0.95)
    assert list(reg["term"][:3]) == ["intercept", "forgetting", "size"] and (reg["n_clusters"] == 7).all()
    assert reg.set_index(["group", "term"]).loc[("bert", "forgetting"), "coef"] == pytest.approx(-0.1)


def test_ols_run_standard_errors_are_the_leave_one_run_out_refits():
    rng = np.random.default_rng(8)
    x, y, runs, _ = clustered(rng, 0.4, n_runs=7)
    fit = ols(y, {"x": x}, clusters=runs).set_index("term")
    refits = np.array([np.polyfit(x[runs != r], y[runs != r], 1)[::-1] for r in np.unique(runs)])
    se = np.sqrt(6 / 7 * ((refits - refits.mean(0)) ** 2).sum(0))
    assert list(fit["se"]) == pytest.approx(list(se)) and (fit["n_clusters"] == 7).all() and (fit["n"] == 35).all()
    assert fit.loc["x", "p"] == pytest.approx(2 * stats.t.sf(abs(fit.loc["x", "coef"] / se[1]), 6))
    assert fit.loc["x", "coef"] == pytest.approx(stats.linregress(x, y).slope)


def two_model_frame():
    """Within each model more forgetting goes with a lower score, but the model that forgets more in its own
    units (causal NLL vs pseudo-likelihood) also scores higher: pooling the raw values reverses the sign."""
    rng = np.random.default_rng(9)
    parts = []
    for model, x0, x_scale, y0 in (("bert", 0.0, 1.0, 0.6), ("llama", 5.0, 4.0, 0.9)):
        for size in range(6):
            f = x0 + x_scale * rng.uniform(0, 1, 3)
            parts.append(
                pd.DataFrame(
                    dict(
                        model=model,
                        method="cda",
                        size=size,
                        seed=0,
                        step=[1, 2, 3],
                        forgetting=f,
                        other=rng.normal(size=3),
                        sst2_score=y0 - 0.05 * (f - x0) / x_scale + rng.normal(0, 0.005, 3),
                    )
                )
            )
    return pd.concat(parts, ignore_index=True)


def zscore_within(df, column):
    return df.groupby("model")[column].transform(lambda v: (v - v.mean()) / v.std(ddof=0))


def test_within_model_standardises_before_pooling():
    df = two_model_frame()
    assert stats.pearsonr(df["forgetting"], df["sst2_score"]).statistic > 0.5  # the raw pooled r misleads
    zx, zy = zscore_within(df, "forgetting"), zscore_within(df, "sst2_score")
    boot = Bootstrap(n_resamples=300)
    corr = correlation_table(df, ["forgetting"], ["sst2_score"], ["within_model"], boot).set_index("method")
    assert corr.loc["pearson", "r"] == pytest.approx(stats.pearsonr(zx, zy).statistic)
    assert corr.loc["pearson", "r"] < -0.9 and corr.loc["pearson", "ci_high"] < 0 and corr.loc["pearson", "p"] < 0.01
    assert (corr["n_rows"] == 36).all() and (corr["n_clusters"] == 12).all()
    # regression: a model-fixed-effect OLS on each model's standardised values (dummies add nothing)
    reg = regression_table(df, ["sst2_score"], ["forgetting", "other"], ["within_model"], 0.95).set_index("term")
    design = np.column_stack(
        [zscore_within(df, "forgetting"), zscore_within(df, "other"), df["model"] == "bert", df["model"] == "llama"]
    ).astype(float)
    coef, *_ = np.linalg.lstsq(design, zy, rcond=None)
    assert reg.loc[["forgetting", "other"], "coef"].tolist() == pytest.approx(coef[:2].tolist())
    assert reg.loc["intercept", "coef"] == pytest.approx(0, abs=1e-12) and reg.loc["forgetting", "p"] < 0.01
    part = partial_table(df, "forgetting", ["sst2_score"], ["other"], ["within_model"], boot).iloc[0]
    expected = partial_correlation(zx, zy, zscore_within(df, "other").to_numpy()[:, None])["r"]
    assert part["r"] == pytest.approx(expected) and part["ci_low"] <= part["r"] <= part["ci_high"]


def test_figure_one_resamples_runs_and_counts_the_base_once(tmp_path):
    """Figure 1's Pearson r and CI are correlations.csv's: run-level, the duplicated base row dropped."""
    from fairforget.plotting import Page, downstream_vs_forgetting

    df = metrics_frame(seeds=(0, 1))
    df["lm_measure"] = "nll"
    boot = Bootstrap(n_resamples=200)
    numbers = downstream_vs_forgetting(
        df, "forgetting", "sst2_score", boot, [str(tmp_path / "f1.png")], Page("c", 40, 6, 3)
    )
    table = correlation_table(df, ["forgetting"], ["sst2_score"], ["model"], boot).set_index(["group", "method"])
    for model in ("bert", "llama"):
        expected = table.loc[(model, "pearson")]
        got = numbers[model]
        assert got["n"] == expected["n_rows"] == 25 and got["n_clusters"] == expected["n_clusters"] == 13
        assert (got["r"], got["p"], got["ci_low"], got["ci_high"]) == pytest.approx(
            (expected["r"], expected["p"], expected["ci_low"], expected["ci_high"])
        )


def test_abs_r_difference_is_paired_over_runs():
    """Two predictors of the same rows: the difference of |r| gets one interval from shared run resamples."""
    rng = np.random.default_rng(0)
    runs = np.repeat(np.arange(12), 3)  # 12 runs of 3 checkpoints
    y = rng.normal(size=36)
    close, loose = y + rng.normal(scale=0.3, size=36), y + rng.normal(scale=2.0, size=36)
    boot = Bootstrap(n_resamples=400)
    better = abs_r_difference(close, loose, y, boot, clusters=runs)
    expected = abs(np.corrcoef(close, y)[0, 1]) - abs(np.corrcoef(loose, y)[0, 1])
    assert better["difference"] == pytest.approx(expected) and better["n_clusters"] == 12
    assert 0 < better["ci_low"] < better["difference"] < better["ci_high"] and better["p"] < 0.05
    same = abs_r_difference(close, close, y, boot, clusters=runs)  # paired: no spread at all
    assert same["difference"] == 0.0 and same["ci_low"] == same["ci_high"] == 0.0
    assert math.isnan(abs_r_difference(np.ones(36), loose, y, boot, clusters=runs)["difference"])
