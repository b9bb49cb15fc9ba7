import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import base_row
from scipy import stats

from fairforget.findings import (
    DEFAULT_CLAIMS,
    base_glue_row,
    base_loss_row,
    finding1,
    finding2,
    finding3,
    findings_index,
    findings_table,
    holm,
    markdown_table,
    matched_bias_differences,
    minimum_detectable,
    one_sided_tests,
    reference_at_bias,
    remedy_contrasts,
    trivial_glue_baseline,
)

INFERENCE = {"alpha": 0.05, "power": 0.8, "sesoi": {"forgetting": 0.02, "downstream": 0.01}, "claims": DEFAULT_CLAIMS}


def test_holm_adjusts_step_down_and_skips_nan():
    adjusted = holm([0.01, 0.04, math.nan, 0.03])
    assert adjusted[0] == pytest.approx(0.03) and math.isnan(adjusted[2])
    assert adjusted[3] == pytest.approx(0.06) and adjusted[1] == pytest.approx(0.06)  # monotone: max(0.06, 0.04)


def test_one_sided_tests_directional_and_no_effect():
    supports, contradicts = one_sided_tests(1.0, 0.2, 10, +1, None)
    assert supports < 0.001 and contradicts > 0.999 and supports + contradicts == pytest.approx(1)
    # no effect of sign -1 as large as 0.5: an estimate of 0 with SE 0.1 supports it, -1.0 contradicts it
    assert one_sided_tests(0.0, 0.1, 10, -1, 0.5)[0] < 0.001
    assert one_sided_tests(-1.0, 0.1, 10, -1, 0.5)[1] < 0.001
    assert all(math.isnan(v) for v in one_sided_tests(0.0, math.nan, 1, -1, 0.5))
    assert minimum_detectable(0.1, 1e6, 0.05, 0.8) == pytest.approx((1.6449 + 0.8416) * 0.1, abs=1e-3)


def synthetic_table(slope_forgetting: float, seed: int = 0, remedy_effect: float = 0.0, seeds=(0, 1)) -> pd.DataFrame:
    """One model: base, cda at three sizes x seeds x two steps, replay at the largest size; downstream falls
    with forgetting, forgetting rises with size by `slope_forgetting` per doubling; replay changes forgetting by
    `remedy_effect` (a seed's runs share a seed effect, as paired runs do)."""
    rng = np.random.default_rng(seed)
    rows = [base_row("m")]
    seed_effect = {s: rng.normal(0, 0.02) for s in seeds}
    for method, sizes in (("cda", [100, 400, 1600]), ("replay", [1600])):
        for size in sizes:
            for s in seeds:
                for step in (50, 100):
                    f = 0.1 + slope_forgetting * math.log2(size / 100) + step / 1000 + seed_effect[s]
                    f += rng.normal(0, 0.005) + (remedy_effect if method == "replay" else 0.0)
                    rows.append(
                        dict(
                            model="m",
                            method=method,
                            size=size,
                            seed=s,
                            step=step,
                            alpha=np.nan,
                            forgetting=f,
                            # bias falls along training too; replay debiases half a point less
                            crows=60
                            - 2 * math.log2(size / 100)
                            - step / 50
                            + (0.5 if method == "replay" else 0.0)
                            + rng.normal(0, 0.02),
                            selective_crows_gap=0.05 * math.log2(size / 100) + rng.normal(0, 0.005),
                        )
                    )
    df = pd.DataFrame(rows)
    df["downstream_avg"] = 0.8 - df["forgetting"] + rng.normal(0, 0.002, len(df))
    return df


def table_of(df: pd.DataFrame, family: str) -> pd.DataFrame:
    """The findings of synthetic_table's model `m`, replay compared with CDA at its largest size."""
    return findings_table(
        df,
        {"m": family},
        remedies_reference="cda",
        remedies_size=1600,
        size_figure={"method": "cda", "stereotype": "crows", "selective": "selective_crows_gap"},
        inference=INFERENCE,
    )


def test_finding1_sees_downstream_falling_with_forgetting_within_methods():
    overall, primarily = finding1(synthetic_table(0.05), "m", "m", DEFAULT_CLAIMS, 0.05, 0.8)
    assert overall["estimate"] < -0.9 and overall["ci_high"] < 0 and overall["p_supports"] < 0.05
    assert overall["n"] == 8 and overall["unit"].startswith("training run")  # runs, not checkpoints
    assert "| method and step" in overall["estimand"]
    assert primarily["estimate"] > 0 and math.isfinite(primarily["mde"])


def test_finding2_slopes_follow_the_data_in_both_directions():
    rows = finding2(synthetic_table(0.05), "m", "m", "cda", "crows", "selective_crows_gap", DEFAULT_CLAIMS, 0.05, 0.8)
    bias, selective, overall, together = rows
    assert bias["estimate"] == pytest.approx(-2, abs=0.1) and bias["p_supports"] < 0.05
    assert selective["p_contradicts"] < 0.05 and overall["p_supports"] < 0.05  # synthetic: selective rises
    assert overall["estimate"] == pytest.approx(0.05, abs=0.015) and overall["n"] == 6  # final steps only
    assert "| step" in together["estimand"]
    flipped = DEFAULT_CLAIMS | {"forgetting_with_size": -1}
    shrinking = finding2(synthetic_table(-0.05), "m", "m", "cda", "crows", "selective_crows_gap", flipped, 0.05, 0.8)
    assert shrinking[2]["p_supports"] < 0.05 and shrinking[2]["claim"] == "overall forgetting falls with more CDA data"


def test_reference_at_bias_interpolates_the_first_crossing_from_the_base_and_never_extrapolates():
    curve = pd.DataFrame({"step": [0, 50, 100], "stereotype_bias": [10.0, 6.0, 8.0], "forgetting": [0.0, 0.1, 0.3]})
    at = reference_at_bias(curve, 7.0, ["forgetting"])  # reached first between the base and step 50
    assert at["forgetting"] == pytest.approx(0.075) and at["step"] == pytest.approx(37.5)
    assert reference_at_bias(curve, 10.0, ["forgetting"])["forgetting"] == 0.0  # no debiasing: the base
    assert reference_at_bias(curve, 5.0, ["forgetting"]) is None  # below anything the run reached
    assert reference_at_bias(curve, 11.0, ["forgetting"]) is None


def test_matched_bias_differences_compare_with_the_reference_where_it_was_as_debiased():
    rows = [base_row("m", downstream_avg=0.8)]
    for seed, remedy_crows in ((0, 56.0), (1, 58.0), (2, 51.0)):
        rows += [
            dict(model="m", method="cda", size=10, seed=seed, step=50, crows=56.0, forgetting=0.2, downstream_avg=0.7),
            dict(model="m", method="cda", size=10, seed=seed, step=100, crows=54.0, forgetting=0.4, downstream_avg=0.6),
            dict(
                model="m",
                method="l2sp",
                size=10,
                seed=seed,
                step=100,
                crows=remedy_crows,
                forgetting=0.15,
                downstream_avg=0.75,
            ),
        ]
    df = pd.DataFrame(rows).assign(alpha=np.nan)
    differences, unmatched = matched_bias_differences(
        df, "m", "l2sp", None, "cda", 10, "crows", ["forgetting", "downstream_avg"]
    )
    # seed 0: bias 6 = cda at step 50; seed 1: bias 8, half-way from the base (bias 10) to step 50
    assert differences[0]["forgetting"] == pytest.approx(-0.05) and differences[0]["reference_step"] == 50
    assert differences[1]["forgetting"] == pytest.approx(0.15 - 0.1)
    assert differences[1]["downstream_avg"] == pytest.approx(0.75 - 0.75)
    assert unmatched == [2]  # bias 1: cda never got there
    with pytest.raises(ValueError, match="base row"):
        matched_bias_differences(df[df["method"] != "base"], "m", "l2sp", None, "cda", 10, "crows", ["forgetting"])


def test_a_projection_debiaser_is_compared_at_its_own_size():
    """A projection method's size is its amount of data, not a CDA size: its final checkpoint (largest knob) is
    matched against the reference run at the remedies size, and its rows say both sizes."""
    rows = [base_row("m", downstream_avg=0.8)]
    for seed in (0, 1):
        rows += [
            dict(model="m", method="cda", size=10, seed=seed, step=50, crows=56.0, forgetting=0.2, downstream_avg=0.7),
            dict(model="m", method="cda", size=10, seed=seed, step=100, crows=54.0, forgetting=0.4, downstream_avg=0.6),
            dict(
                model="m", method="inlp", size=300, seed=seed, step=10, crows=58.0, forgetting=0.0, downstream_avg=0.8
            ),
            dict(
                model="m", method="inlp", size=300, seed=seed, step=80, crows=56.0, forgetting=0.1, downstream_avg=0.7
            ),
        ]
    df = pd.DataFrame(rows).assign(alpha=np.nan)
    contrasts = remedy_contrasts(df, "m", "cda", 10, "crows", ["forgetting"], roles={"inlp": "projection"})
    (inlp,) = contrasts
    assert inlp["role"] == "projection" and inlp["size"] == 300 and inlp["seeds"] == [0, 1]
    assert inlp["estimate"] == pytest.approx(0.1 - 0.2)  # iter80 (bias 6) vs cda at step 50 (bias 6)
    assert remedy_contrasts(df, "m", "cda", 10, "crows", ["forgetting"]) == []  # as a remedy: not at size 10
    forgetting, _ = finding3(
        df, "m", "m", "cda", 10, "crows", INFERENCE["sesoi"], 0.05, 0.8, roles={"inlp": "projection"}
    )
    assert forgetting["claim"].startswith("projection debiaser inlp does not reduce overall forgetting")
    assert "size 300 (cda at size 10)" in forgetting["estimand"]


def test_finding3_pairs_seeds_and_names_the_sesoi():
    df = synthetic_table(0.05, remedy_effect=-0.1, seeds=(0, 1, 2, 3))
    forgetting, downstream = finding3(df, "m", "m", "cda", 1600, "crows", INFERENCE["sesoi"], 0.05, 0.8)
    # replay ends half a point less debiased: cda was there half-way from step 50 to 100, 0.025 less forgotten
    assert forgetting["estimate"] == pytest.approx(-0.1 + 0.025, abs=0.01) and forgetting["n"] == 4
    assert forgetting["p_contradicts"] < 0.05 and forgetting["sesoi"] == 0.02  # reduces by more than the SESOI
    assert downstream["claim"].startswith("remedy replay does not improve downstream")
    assert "equal stereotype bias |crows - 50|" in forgetting["estimand"]
    as_objective = finding3(
        df, "m", "m", "cda", 1600, "crows", INFERENCE["sesoi"], 0.05, 0.8, roles={"replay": "objective"}
    )
    assert as_objective[0]["claim"].startswith("objective replay")
    table = table_of(df, "m (masked LM)")
    assert list(table["finding"]) == ["1", "1", "2", "2", "2", "2", "3", "3"]
    assert table.loc[6, "verdict"] == "contradicted"
    markdown = markdown_table(table)
    assert markdown.count("\n") == len(table) + 2 and "| m (masked LM) | 3 | remedy replay does not reduce" in markdown
    assert "\\|crows - 50\\|" in markdown  # escaped: every row keeps its ten cells
    assert all(line.replace("\\|", "").count("|") == 11 for line in markdown.splitlines())


def simulated_verdicts(effect: float, n_seeds: int, noise: float, sims: int, seed: int) -> list[str]:
    """Finding 3's forgetting verdict on `sims` synthetic remedy-vs-reference experiments, each with
    `n_seeds` paired runs and a true remedy effect `effect`, judged with two other tests in the table."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(sims):
        rows = [base_row("m")]
        for s in range(n_seeds):
            shared = rng.normal(0, 0.05)
            for method, shift in (("cda", 0.0), ("replay", effect)):
                f = 0.3 + shared + shift + rng.normal(0, noise)
                # both end equally debiased: the match is the reference's final checkpoint
                rows.append(
                    dict(model="m", method=method, size=1000, seed=s, step=10, alpha=np.nan, forgetting=f, crows=52.0)
                )
        rows = finding3(pd.DataFrame(rows), "m", "m", "cda", 1000, "crows", INFERENCE["sesoi"], 0.05, 0.8)
        table = pd.DataFrame(rows + [dict(rows[0], p_supports=0.5, p_contradicts=0.5)] * 2)
        from fairforget.findings import verdicts

        out.append(verdicts(table, 0.05).loc[0, "verdict"])
    return out


def test_simulation_true_null_is_supported_at_its_power_and_rarely_contradicted():
    """A remedy with no effect: 'supported' at the non-inferiority test's power (noncentral t, Holm over three
    tests), 'contradicted' at most 5%; a remedy that reduces forgetting by 3 SESOIs is found at its power."""
    n, noise, sims = 6, 0.01, 400
    se = noise * math.sqrt(2) / math.sqrt(n)
    null = simulated_verdicts(0.0, n, noise, sims, seed=1)
    # Holm over three p-values, two of them 0.5: the smallest is compared with alpha / 3
    expected = stats.nct.sf(stats.t.ppf(1 - 0.05 / 3, n - 1), n - 1, 0.02 / se)
    assert abs(null.count("supported") / sims - expected) < 0.07
    assert null.count("contradicted") / sims <= 0.05
    effect = simulated_verdicts(-0.06, n, noise, sims, seed=2)
    power = stats.nct.sf(stats.t.ppf(1 - 0.05 / 3, n - 1), n - 1, (0.06 - 0.02) / se)
    assert abs(effect.count("contradicted") / sims - power) < 0.07 and effect.count("supported") == 0


def test_base_targets():
    assert trivial_glue_baseline("sst2", [1, 1, 0], [1, 0, 0, 0]) == 0.25  # majority class of train, scored on dev
    assert trivial_glue_baseline("stsb", [1.0, 2.0], [3.0, 4.0]) == 0.0
    result = {"score": 0.8, "score_ci95": [0.77, 0.83]}
    assert base_glue_row("m", "sst2", result, 0.5, 0.75)["target_met"]
    assert not base_glue_row("m", "sst2", result, 0.5, 0.85)["target_met"]
    assert not base_glue_row("m", "sst2", result, 0.78, None)["target_met"]  # CI reaches below the baseline
    metrics = {
        "kind": "masked",
        "parameters": 5,
        "train_tokens": 10,
        "heldout_loss": 5.0,
        "unigram_heldout_loss": 6.9,
        "tokens_per_second": 1.0,
        "wall_s": 60,
    }
    row = base_loss_row("m", metrics, 1.5)
    assert row["below_unigram"] == pytest.approx(1.9) and row["target_met"]
    assert not base_loss_row("m", dict(metrics, heldout_loss=5.5), 1.5)["target_met"]


def test_findings_index_joins_every_run_with_its_provenance_and_names_stale_tables(tmp_path):
    current = table_of(synthetic_table(0.05), "m (causal LM)")
    for run, table in (("gemma", current), ("scratch", pd.DataFrame({"finding": [1], "verdict": ["supported"]}))):
        (tmp_path / run).mkdir()
        table.to_csv(tmp_path / run / "findings.csv", index=False)
        (tmp_path / run / "provenance.json").write_text(json.dumps({"commit": f"abc{run}", "config_sha256": "f00"}))
    index, runs, stale = findings_index(tmp_path)
    assert len(index) == len(current) and set(index["run"]) == {"gemma"} and (index["commit"] == "abcgemma").all()
    assert [r["readme"] for r in runs] == ["gemma/README.md"] and stale == ["scratch"]
    assert runs[0]["findings_version"] == 1  # provenance without a version: written before versions existed
    (tmp_path / "gemma" / "provenance.json").unlink()
    with pytest.raises(FileNotFoundError, match="gemma: findings.csv without provenance.json"):
        findings_index(tmp_path)


def test_readme_block_counts_every_runs_verdicts_and_leaves_the_rest_of_the_readme(tmp_path):
    from fairforget.findings import README_END, README_START, update_readme_block

    table = table_of(synthetic_table(0.05), "m (causal LM)")
    (tmp_path / "results" / "gemma").mkdir(parents=True)
    table.to_csv(tmp_path / "results" / "gemma" / "findings.csv", index=False)
    provenance = {"commit": "abc", "config_sha256": "f00", "findings_version": 2}
    (tmp_path / "results" / "gemma" / "provenance.json").write_text(json.dumps(provenance))
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{README_START}\nold\n{README_END}\n\n## next\n")
    assert update_readme_block(readme, tmp_path / "results")
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith(f"{README_END}\n\n## next\n") and "old" not in text
    row = next(line for line in text.splitlines() if line.startswith("| gemma | m (causal LM) |"))
    counts = [int(n) for n in re.findall(r"(\d+) (?:supported|contradicted|inconclusive|untested)", row)]
    assert sum(counts) == len(table)  # every row counted once, in its finding's column
    assert all(f"finding {finding}" in text for finding in table["finding"].unique())
    (tmp_path / "other.md").write_text("no block\n")
    assert not update_readme_block(tmp_path / "other.md", tmp_path / "results")
