import math

import numpy as np
import pandas as pd
import pytest
from conftest import base_row

from fairforget.correlation import Bootstrap
from fairforget.findings import (
    base_glue_row,
    base_loss_row,
    finding1,
    finding2,
    finding3,
    findings_table,
    markdown_table,
    paired_difference_ci,
    trivial_glue_baseline,
    verdict,
)

BOOT = Bootstrap(n_resamples=300, seed=0)


@pytest.mark.parametrize(
    "low, high, sign, expected",
    [
        (0.1, 0.3, +1, "supported"),
        (-0.3, -0.1, +1, "contradicted"),
        (-0.3, -0.1, -1, "supported"),
        (0.1, 0.3, -1, "contradicted"),
        (-0.1, 0.2, +1, "inconclusive at this scale"),
        (math.nan, math.nan, +1, "inconclusive at this scale (no CI)"),
    ],
)
def test_verdict_needs_the_whole_ci_on_one_side(low, high, sign, expected):
    assert verdict(low, high, sign) == expected


def synthetic_table(slope_forgetting: float, seed: int = 0) -> pd.DataFrame:
    """One model: base, cda at three sizes x two seeds x two steps, replay at the largest size; downstream falls
    with forgetting, forgetting rises with size by `slope_forgetting` per doubling."""
    rng = np.random.default_rng(seed)
    rows = [base_row("m")]
    for method, sizes in (("cda", [100, 400, 1600]), ("replay", [1600])):
        for size in sizes:
            for s in (0, 1):
                for step in (50, 100):
                    f = 0.1 + slope_forgetting * math.log2(size / 100) + step / 1000 + rng.normal(0, 0.005)
                    rows.append(
                        dict(
                            model="m",
                            method=method,
                            size=size,
                            seed=s,
                            step=step,
                            alpha=np.nan,
                            forgetting=f,
                            crows=60 - 2 * math.log2(size / 100) + rng.normal(0, 0.1),
                            selective_crows_gap=0.05 * math.log2(size / 100) + rng.normal(0, 0.005),
                        )
                    )
    df = pd.DataFrame(rows)
    df["downstream_avg"] = 0.8 - df["forgetting"] + rng.normal(0, 0.002, len(df))
    df["downstream_avg_ci_low"], df["downstream_avg_ci_high"] = df["downstream_avg"] - 0.01, df["downstream_avg"] + 0.01
    return df


def test_finding1_sees_downstream_falling_with_forgetting():
    [row] = finding1(synthetic_table(0.05), "m", "m (masked LM)", BOOT)
    assert row["estimate"] < -0.9 and row["ci_high"] < 0 and row["verdict"] == "supported"
    assert row["n"] == 17  # base once + 16 fine-tuned checkpoints


def test_finding2_slopes_follow_the_data_in_both_directions():
    rows = finding2(synthetic_table(0.05), "m", "m", "cda", "crows", "selective_crows_gap", BOOT)
    bias, selective, overall, together = rows
    assert bias["estimate"] == pytest.approx(-2, abs=0.1) and bias["verdict"] == "supported"
    assert selective["verdict"] == "contradicted" and overall["verdict"] == "supported"  # synthetic: it rises
    assert overall["estimate"] == pytest.approx(0.05, abs=0.01) and overall["n"] == 6  # final steps only
    assert together["verdict"] == "supported"
    shrinking = finding2(synthetic_table(-0.05), "m", "m", "cda", "crows", "selective_crows_gap", BOOT)[2]
    assert shrinking["verdict"] == "contradicted"


def lm_file(nll_per_sequence):
    return {"per_sequence_nll": list(nll_per_sequence), "per_sequence_tokens": [10] * len(nll_per_sequence)}


def test_paired_difference_averages_seeds_and_pairs_sequences():
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(20, 60, 200)  # per-sequence NLL sums: the text's own difficulty dominates
    reference = [lm_file(difficulty), lm_file(difficulty + 1)]
    remedy = [lm_file(difficulty + 2), lm_file(difficulty + 3)]
    estimate, (low, high) = paired_difference_ci(remedy, reference)
    assert estimate == pytest.approx(0.2)  # (2.5 - 0.5) nats per sequence over 10 tokens
    assert low == pytest.approx(0.2) and high == pytest.approx(0.2)  # a constant shift: pairing leaves no noise
    with pytest.raises(ValueError, match="different held-out sequences"):
        paired_difference_ci(remedy, [{"per_sequence_nll": [1.0], "per_sequence_tokens": [3]}])


def test_finding3_judges_each_remedy_against_the_reference():
    df = synthetic_table(0.05)
    n = 100
    lm = {("cda", s, None): lm_file(np.full(n, 30.0) + s) for s in (0, 1)}
    lm.update({("replay", s, None): lm_file(np.full(n, 30.0) + s - 1 + np.linspace(-0.1, 0.1, n)) for s in (0, 1)})
    forgetting, downstream = finding3(df, "m", "m", "cda", 1600, lm)
    assert forgetting["estimate"] == pytest.approx(-0.1) and forgetting["verdict"] == "contradicted"
    assert forgetting["n"] == 2 and "seeds [0, 1]" in forgetting["measure"]
    assert downstream["claim"].startswith("replay does not improve downstream")
    table = findings_table(
        df,
        {"m": "m (masked LM)"},
        boot=BOOT,
        remedies_reference="cda",
        remedies_size=1600,
        size_figure={"method": "cda", "stereotype": "crows", "selective": "selective_crows_gap"},
        lm_results={"m": lm},
    )
    assert list(table["finding"]) == ["1", "2", "2", "2", "2", "3", "3"]
    markdown = markdown_table(table)
    assert markdown.count("\n") == len(table) + 2 and "| m (masked LM) | 3 | replay does not reduce" in markdown
    assert "\\|crows - 50\\|" in markdown  # escaped: every row keeps its seven cells
    assert all(line.replace("\\|", "").count("|") == 8 for line in markdown.splitlines())


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
