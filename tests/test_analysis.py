import math

import pandas as pd
import pytest

from fairforget.analysis import correlations, metrics_table
from fairforget.io import write_json


def make_entry(tmp_path, model, method, size, step, nll, acc, crows=55.0, stereo_loglik=-20.0):
    prefix = tmp_path / f"{model}-{method}-{size}-{step}"
    variant = {"value": crows, "ci95": [50.0, 60.0], "n": 262, "ties": 0}
    write_json(f"{prefix}-crows.json", {
        "primary": "nangia2020", "variants": {"nangia2020": variant, "bias_bench": variant},
        "likelihood": {"mean_stereo": stereo_loglik, "mean_anti": -21.0, "mean_gap": stereo_loglik + 21.0}})
    write_json(f"{prefix}-lm.json", {"measure": "pseudo_log_likelihood", "nll": nll, "perplexity": math.exp(nll),
                                     "n_tokens": 100, "kl_base": 0.0,
                                     "nll_ci95": [nll - 0.1, nll + 0.1]})
    write_json(f"{prefix}-sst2.json", {"accuracy": acc})
    return dict(model=model, method=method, size=size, seed=0, step=step, alpha=None, crows=f"{prefix}-crows.json",
                lm=f"{prefix}-lm.json", downstream={"sst2": f"{prefix}-sst2.json"})


def test_forgetting_is_relative_to_base(tmp_path):
    entries = [make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80),
               make_entry(tmp_path, "m", "cda", 10, 5, 4.5, 0.75, stereo_loglik=-22.0),
               make_entry(tmp_path, "m", "cda", 20, 5, 5.0, 0.70, stereo_loglik=-23.0)]
    df = metrics_table(entries)
    assert list(df["forgetting"]) == [0.0, 0.5, 1.0]
    assert df.loc[2, "forgetting_rel"] == pytest.approx(0.25)
    assert list(df["selective_crows_stereo"]) == [0.0, -2.0, -3.0]
    assert list(df["selective_crows_gap"]) == [0.0, -2.0, -3.0]
    assert {"crows", "crows_nangia2020", "crows_bias_bench", "lm_kl_base"} <= set(df.columns)
    assert not df.drop(columns="alpha").isna().any().any() and df["alpha"].isna().all()


def test_missing_base_row_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no base-model rows"):
        metrics_table([make_entry(tmp_path, "m", "cda", 10, 5, 4.5, 0.75)])


def test_correlations_perfect_negative():
    df = pd.DataFrame({"model": ["m"] * 4, "forgetting": [0.0, 0.1, 0.2, 0.3], "sst2_accuracy": [0.9, 0.8, 0.7, 0.6]})
    table = correlations(df, "forgetting", ["sst2_accuracy"])
    assert set(table["method"]) == {"pearson", "spearman"}
    assert table["r"].tolist() == pytest.approx([-1.0, -1.0])
    assert (table["n"] == 4).all()
