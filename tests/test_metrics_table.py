import math

import pytest

from fairforget.io import write_json as write_result
from fairforget.metrics_table import tables
from fairforget.runs import evaluate_checkpoints, read_checkpoint


def wide_table(entries):
    return tables(entries)[0]


def write_json(path, result, checkpoint="ck"):
    """A run's result file with this one checkpoint in it, as the evaluation rules write them."""
    write_result(path, {"checkpoints": {checkpoint: result}})


def make_entry(tmp_path, model, method, size, step, nll, acc, crows=55.0, stereo_loglik=-20.0, seeds=(0,)):
    prefix = tmp_path / f"{model}-{method}-{size}-{step}"
    variant = {"value": crows, "ci95": [50.0, 60.0], "n": 262, "neutral": 0}
    write_json(
        f"{prefix}-crows.json",
        {
            "primary": "nangia2020",
            "variants": {"nangia2020": variant, "bias_bench": variant},
            "likelihood": {"mean_stereo": stereo_loglik, "mean_anti": -21.0, "mean_gap": stereo_loglik + 21.0},
        },
    )
    difficulty = [-40, -30, -20, -10, 0, 0, 10, 20, 30, 40]  # per-sequence NLL sums vary with the text
    write_json(
        f"{prefix}-lm.json",
        {
            "measure": "pseudo_log_likelihood",
            "nll": nll,
            "perplexity": math.exp(nll),
            "n_tokens": 100,
            "kl_base": 0.0,
            "n_sequences": 10,
            "nll_ci95": [nll - 0.1, nll + 0.1],
            "per_sequence_nll": [10 * nll + d for d in difficulty],
            "per_sequence_tokens": [10] * 10,
        },
    )
    downstream = {"sst2": {}, "stsb": {}}
    for seed in seeds:
        a = acc + 0.01 * seed
        write_json(
            f"{prefix}-sst2-{seed}.json", {"score": a, "score_ci95": [a - 0.03, a + 0.03], "metrics": {"accuracy": a}}
        )
        write_json(
            f"{prefix}-stsb-{seed}.json",
            {"score": 0.5, "score_ci95": [0.45, 0.55], "metrics": {"pearson": 0.6, "spearmanr": 0.4}},
        )
        downstream["sst2"][seed] = f"{prefix}-sst2-{seed}.json"
        downstream["stsb"][seed] = f"{prefix}-stsb-{seed}.json"
    return dict(
        model=model,
        method=method,
        size=size,
        seed=0,
        step=step,
        alpha=None,
        checkpoint="ck",
        crows=f"{prefix}-crows.json",
        lm=f"{prefix}-lm.json",
        downstream=downstream,
    )


def test_forgetting_is_relative_to_base(tmp_path):
    entries = [
        make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80),
        make_entry(tmp_path, "m", "cda", 10, 5, 4.5, 0.75, stereo_loglik=-22.0),
        make_entry(tmp_path, "m", "cda", 20, 5, 5.0, 0.70, stereo_loglik=-23.0),
    ]
    df = wide_table(entries)
    assert list(df["forgetting"]) == [0.0, 0.5, 1.0]
    assert df.loc[2, "forgetting_rel"] == pytest.approx(0.25)
    # every sequence lost the same: the paired CI is that difference, however much the texts differ
    assert (df.loc[2, "forgetting_ci_low"], df.loc[2, "forgetting_ci_high"]) == pytest.approx((1.0, 1.0))
    # positive = forgotten: the stereotypical sentences became less likely than under the base
    assert list(df["selective_crows_stereo"]) == [0.0, 2.0, 3.0]
    assert list(df["selective_crows_gap"]) == [0.0, 2.0, 3.0]
    assert {"crows", "crows_nangia2020", "crows_bias_bench", "lm_kl_base"} <= set(df.columns)
    one_seed = df.drop(columns=["alpha", "sst2_score_sd", "stsb_score_sd"])
    assert not one_seed.isna().any().any() and df["alpha"].isna().all()


def test_downstream_columns_average_seeds(tmp_path):
    entries = [make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80, seeds=(0, 1, 2))]
    wide, long = tables(entries)
    row = wide.iloc[0]
    assert row["sst2_score"] == pytest.approx(0.81) and row["sst2_accuracy"] == pytest.approx(0.81)
    assert row["sst2_score_sd"] == pytest.approx(0.01) and row["sst2_seeds"] == 3
    half = 4.302653 * 0.01 / math.sqrt(3)  # t(0.975, 2)
    assert (row["sst2_score_ci_low"], row["sst2_score_ci_high"]) == pytest.approx((0.81 - half, 0.81 + half))
    assert row["stsb_score"] == 0.5 and row["stsb_pearson"] == 0.6
    assert row["downstream_avg"] == pytest.approx((0.81 + 0.5) / 2)
    # long: per-seed downstream values, every other metric once
    sst2 = long[long["metric"] == "sst2_score"]
    assert sorted(sst2["downstream_seed"]) == [0, 1, 2] and sst2["value"].tolist() == pytest.approx([0.80, 0.81, 0.82])
    nll = long[long["metric"] == "lm_nll"]
    assert len(nll) == 1 and nll["downstream_seed"].isna().all()
    assert not long["metric"].isin(["downstream_avg", "sst2_score_sd", "sst2_seeds"]).any()


def test_missing_base_row_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no base-model rows"):
        wide_table([make_entry(tmp_path, "m", "cda", 10, 5, 4.5, 0.75)])


def test_checkpoints_of_one_run_share_a_result_file(tmp_path):
    """Two checkpoints of one run are read from the same files, each its own row."""
    base = make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80)
    run = tmp_path / "run"
    results = {"step5": (4.5, 0.75), "step10": (5.5, 0.65)}
    for filename, result in (
        (
            "lm.json",
            lambda nll, acc: {
                "measure": "pseudo_log_likelihood",
                "nll": nll,
                "n_tokens": 100,
                "perplexity": math.exp(nll),
                "nll_ci95": [nll - 0.1, nll + 0.1],
            },
        ),
        (
            "sst2.json",
            lambda nll, acc: {"score": acc, "score_ci95": [acc - 0.03, acc + 0.03], "metrics": {"accuracy": acc}},
        ),
    ):
        write_result(f"{run}-{filename}", {"checkpoints": {ck: result(*v) for ck, v in results.items()}})
    entries = [dict(base, downstream={"sst2": base["downstream"]["sst2"]}, crows=None)] + [
        dict(
            model="m",
            method="cda",
            size=10,
            seed=0,
            step=int(ck[4:]),
            alpha=None,
            checkpoint=ck,
            crows=None,
            lm=f"{run}-lm.json",
            downstream={"sst2": {0: f"{run}-sst2.json"}},
        )
        for ck in results
    ]
    df = wide_table(entries)
    assert list(df["forgetting"]) == pytest.approx([0.0, 0.5, 1.5])
    assert list(df["sst2_score"]) == pytest.approx([0.80, 0.75, 0.65])


def test_run_result_errors_name_the_file_and_checkpoint(tmp_path):
    write_result(tmp_path / "old.json", {"nll": 4.0})
    with pytest.raises(ValueError, match=r"old\.json: expected a run's result file"):
        read_checkpoint(str(tmp_path / "old.json"), "step5")
    write_result(tmp_path / "run.json", {"checkpoints": {"step5": {}}})
    with pytest.raises(ValueError, match=r"run\.json: no checkpoint 'step9' \(has \['step5'\]\)"):
        read_checkpoint(str(tmp_path / "run.json"), "step9")


def test_evaluate_checkpoints_keeps_names_and_order():
    seen = []
    result = evaluate_checkpoints(["step1", "step2"], ["dir1", "dir2"], lambda d: seen.append(d) or {"dir": d})
    assert result == {"checkpoints": {"step1": {"dir": "dir1"}, "step2": {"dir": "dir2"}}} and seen == ["dir1", "dir2"]
    assert evaluate_checkpoints(["base"], "only/dir", lambda d: d) == {"checkpoints": {"base": "only/dir"}}
    with pytest.raises(ValueError, match="2 checkpoint names for 1 model directories"):
        evaluate_checkpoints(["a", "b"], ["d"], lambda d: d)


def test_forgetting_ci_is_paired_and_narrower_than_the_checkpoints_own(tmp_path):
    """Text difficulty, shared by base and checkpoint, must not widen the forgetting CI."""
    import numpy as np

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 15, 40)
    tokens = [10] * 40
    base_sums = 40 + difficulty
    tuned_sums = base_sums + 3 + rng.normal(0, 1, 40)  # forgetting 0.3 nats per token, a little noise
    entries = []
    for method, sums in (("base", base_sums), ("cda", tuned_sums)):
        entry = make_entry(
            tmp_path,
            "m",
            method,
            0 if method == "base" else 10,
            0 if method == "base" else 5,
            float(sums.sum() / 400),
            0.8,
        )
        lm = read_checkpoint(entry["lm"], "ck")
        lm.update(per_sequence_nll=list(sums), per_sequence_tokens=tokens, n_sequences=40)
        write_json(entry["lm"], lm)
        entries.append(entry)
    from fairforget.bootstrap import sequence_bootstrap_ci

    row = wide_table(entries).iloc[1]
    low, high = row["forgetting_ci_low"], row["forgetting_ci_high"]
    assert low < row["forgetting"] < high and low > 0.2 and high < 0.4
    own_low, own_high = sequence_bootstrap_ci([np.full(10, v / 10) for v in tuned_sums])
    assert high - low < (own_high - own_low) / 5


def test_forgetting_needs_the_same_sequences(tmp_path):
    entries = [make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80), make_entry(tmp_path, "m", "cda", 10, 5, 4.5, 0.7)]
    lm = read_checkpoint(entries[1]["lm"], "ck")
    lm["per_sequence_tokens"] = [10] * 9 + [11]
    write_json(entries[1]["lm"], lm)
    with pytest.raises(ValueError, match="different sequences"):
        wide_table(entries)


def test_downstream_avg_has_a_ci(tmp_path):
    """Figure 3 draws downstream_avg with an error bar: it needs a real interval with one seed and with several."""
    one = wide_table([make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80)]).iloc[0]
    half = math.sqrt(0.03**2 + 0.05**2) / 2  # independent dev sets: variances add (each task's CI read as normal)
    assert one["downstream_avg"] == pytest.approx(0.65)
    assert (one["downstream_avg_ci_low"], one["downstream_avg_ci_high"]) == pytest.approx((0.65 - half, 0.65 + half))
    three = wide_table([make_entry(tmp_path / "s", "m", "base", 0, 0, 4.0, 0.80, seeds=(0, 1, 2))]).iloc[0]
    means = [(0.80 + 0.01 * s + 0.5) / 2 for s in range(3)]  # per-seed mean over the two tasks
    half = 4.302653 * 0.005 / math.sqrt(3)
    assert three["downstream_avg"] == pytest.approx(sum(means) / 3)
    assert (three["downstream_avg_ci_low"], three["downstream_avg_ci_high"]) == pytest.approx(
        (sum(means) / 3 - half, sum(means) / 3 + half)
    )


def test_base_counts_once_per_model_whatever_the_training_seeds(tmp_path):
    """Entries that list the base model once per training seed (as evaluated_models did), all naming the same
    result files: the table keeps one base row per model, so no statistic counts it twice."""
    base = make_entry(tmp_path, "m", "base", 0, 0, 4.0, 0.80)
    for s in (0, 1):
        (tmp_path / f"seed{s}").mkdir()
    runs = [dict(make_entry(tmp_path / f"seed{s}", "m", "cda", 10, 5, 4.5 + s, 0.75), seed=s) for s in (0, 1)]
    wide, long = tables([base, runs[0], dict(base, seed=1), runs[1]])
    assert list(wide["method"]) == ["base", "cda", "cda"] and list(wide["seed"]) == [0, 0, 1]
    assert list(wide["forgetting"]) == pytest.approx([0.0, 0.5, 1.5])
    assert (long["method"] == "base").sum() == (long["method"] == "cda").sum() / 2
    other = make_entry(tmp_path / "seed1", "m", "base", 0, 0, 4.0, 0.80)  # another base model's files
    with pytest.raises(ValueError, match="base entries of seeds 0 and 1 name different result files"):
        tables([base, dict(other, seed=1), runs[0]])
