"""Figure helpers: the Pareto front, slopes per doubling of CDA size, means with CIs, and each figure drawn
from a small synthetic metrics table (files written, numbers returned)."""

import math

import numpy as np
import pandas as pd
import pytest
from conftest import base_row

from fairforget import plotting
from fairforget.correlation import Bootstrap
from fairforget.findings import remedy_contrasts

MODELS = ("bert", "llama")
SESOI = {"forgetting": 0.02, "downstream": 0.01}


def test_pareto_front_keeps_only_undominated_points():
    bias = np.array([5.0, 1.0, 3.0, 1.0, 4.0, 0.5])
    score = np.array([0.9, 0.6, 0.8, 0.7, 0.85, 0.5])
    # (1.0, 0.7) beats (1.0, 0.6); (4.0, 0.85) and (5.0, 0.9) trade off against (3.0, 0.8)
    assert plotting.pareto_front(bias, score).tolist() == [5, 3, 2, 4, 0]


def test_slope_per_doubling():
    rows = pd.DataFrame({"size": [100, 200, 400, 100, 200, 400], "m": [1.0, 1.5, 2.0, 1.2, 1.7, 2.2]})
    fit = plotting.slope_per_doubling(rows, "m")
    assert fit["slope"] == pytest.approx(0.5) and fit["ci_low"] < 0.5 < fit["ci_high"] and fit["n"] == 6
    assert math.isnan(plotting.slope_per_doubling(rows[rows["size"] == 100], "m")["slope"])


def test_mean_ci_over_seeds_or_from_the_row():
    seeds = pd.DataFrame({"crows": [50.0, 52.0, 54.0]})
    mean, low, high = plotting.mean_ci(seeds, "crows")
    half = 4.302653 * 2 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert mean == 52.0 and (low, high) == pytest.approx((52 - half, 52 + half))
    one = pd.DataFrame({"crows": [50.0], "crows_ci_low": [45.0], "crows_ci_high": [56.0]})
    assert plotting.mean_ci(one, "crows") == (50.0, 45.0, 56.0)
    assert math.isnan(plotting.mean_ci(pd.DataFrame({"x": [1.0]}), "x")[1])


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    rows = []
    for model in ("bert", "llama"):
        rows.append(base_row(model, sst2_score=0.8))
        for method in ("cda", "replay"):
            for size in (100, 200, 400):
                for step in (50, 100):
                    f = size / 400 * step / 100 + rng.normal(scale=0.02)
                    rows.append(
                        dict(
                            model=model,
                            method=method,
                            size=size,
                            seed=0,
                            step=step,
                            alpha=np.nan,
                            forgetting=f,
                            crows=60 - 5 * f,
                            selective_crows_gap=-f,
                            sst2_score=0.8 - 0.1 * f,
                        )
                    )
        rows.append(
            dict(
                model=model,
                method="wise_ft",
                size=400,
                seed=0,
                step=100,
                alpha=0.5,
                forgetting=0.3,
                crows=58.0,
                selective_crows_gap=-0.3,
                sst2_score=0.77,
            )
        )
    return plotting.downstream_frame(pd.DataFrame(rows))


def test_every_figure_draws_and_returns_its_numbers(table, tmp_path):
    def outputs(name):
        return [str(tmp_path / f"{name}.png"), str(tmp_path / f"{name}.pdf")]

    page = plotting.Page(caption="A caption.", dpi=60, width=8, height=3)
    one = plotting.downstream_vs_forgetting(
        table, "forgetting", "sst2_score", Bootstrap(n_resamples=200), outputs("f1"), page
    )
    assert one["bert"]["r"] < -0.99 and one["bert"]["n"] == 14 and one["bert"]["ci_high"] < 0
    two = plotting.stereotype_vs_size(table, "cda", ["crows", "selective_crows_gap", "forgetting"], outputs("f2"), page)
    # final step: forgetting = size / 400, i.e. 0.25, 0.5, 1.0 over log2 sizes 0, 1, 2 -> OLS slope 0.375
    assert two["forgetting"]["llama"]["slope_per_doubling"]["slope"] == pytest.approx(0.375, abs=0.03)
    contrasts = {m: remedy_contrasts(table, m, "cda", 400, "crows", ["forgetting", "downstream_avg"]) for m in MODELS}
    three = plotting.remedies(contrasts, "downstream_avg", "cda", SESOI, outputs("f3"), page)
    # WiSE-FT ends at crows 58: cda was there (on its line crows = 60 - 5 f) at forgetting 0.4, not at its end
    wise = three["bert"]["wise_ft α=0.5"]["forgetting"]
    assert wise["minus_reference"] == pytest.approx(0.3 - 0.4) and wise["n_pairs"] == 1
    four = plotting.dynamics(table, "cda", ["crows", "forgetting"], outputs("f4"), page)
    assert four["bert"]["forgetting"]["400"][0] == 0.0 and len(four["bert"]["forgetting"]["400"]) == 3
    five = plotting.frontier(table, "crows", 50.0, "downstream_avg", outputs("f5"), page)
    front = five["bert"]
    scores, biases = [p["score"] for p in front], [p["bias"] for p in front]
    assert scores == sorted(scores) and biases == sorted(biases) and len(set(scores)) == len(scores)
    assert front[-1]["method_label"] == "base"  # the best downstream score, never beaten on it
    two_seeds = pd.concat(
        [table, table[table["method"] != "base"].assign(seed=1, sst2_score=lambda d: d["sst2_score"] + 0.02)]
    )
    two_seeds = plotting.downstream_frame(two_seeds.drop(columns="downstream_avg"))
    five = plotting.frontier(two_seeds, "crows", 50.0, "downstream_avg", outputs("f5b"), page)
    point = next(p for p in five["bert"] if p["method_label"] != "base")
    assert point["n_seeds"] == 2 and point["score_ci_low"] < point["score"] < point["score_ci_high"]
    assert "bert base size 0 step 0 (score)" in five["without_ci"]  # one base row, no CI columns in the table
    for path in tmp_path.iterdir():
        assert path.stat().st_size > 1000, path


def test_missing_column_names_the_config_key(table):
    with pytest.raises(KeyError, match="figures.dynamics.metrics.*'nope'"):
        plotting.require_columns(table, ["crows", "nope"], "figures.dynamics.metrics")


def contrast(name, column, estimate, ci, n):
    return dict(
        name=name,
        column=column,
        estimate=estimate,
        ci=ci,
        n=n,
        seeds=list(range(n)),
        unmatched=[],
        reference_steps=[50.0] * n,
    )


def test_a_missing_ci_is_never_drawn_as_a_bar_and_an_unmatched_method_is_named(tmp_path):
    """Figure 3 once drew NaN CIs as zero-width caps under a caption promising a CI."""
    outputs = [str(tmp_path / "f3.png"), str(tmp_path / "f3.pdf")]
    page = plotting.Page(caption="A caption.", dpi=60, width=8, height=3)
    contrasts = {
        "bert": [
            contrast("replay", "forgetting", -0.01, (-0.03, 0.01), 3),
            contrast("replay", "downstream_avg", 0.002, (math.nan, math.nan), 1),  # one seed: no interval
            contrast("l2sp", "forgetting", math.nan, (math.nan, math.nan), 0),  # never matched
        ]
    }
    numbers = plotting.remedies(contrasts, "downstream_avg", "cda", SESOI, outputs, page)
    assert numbers["without_ci"] == ["bert replay (downstream_avg)"] and numbers["unmatched"] == ["bert l2sp"]
    assert "no CI available" in plotting.no_ci_note(numbers["without_ci"]) and plotting.no_ci_note([]) == ""


def test_a_non_finite_error_bar_fails(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar([0, 1], [1.0, 2.0], yerr=[0.1, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        plotting.save(fig, [str(tmp_path / "x.png")], plotting.Page("caption", 60, 4, 3))
    fig, ax = plt.subplots()
    assert list(plotting.error_bars(ax, [0, 1], [1.0, 2.0], [0.9, np.nan], [1.1, np.nan])) == [1]
    plotting.save(fig, [str(tmp_path / "y.png")], plotting.Page("caption", 60, 4, 3))


def test_axis_labels_are_wrapped_to_their_axes():
    """A metric's long definition as a y label of a short panel is broken into lines no longer than the axis
    (at about 0.6 em a character); a label that fits, and explicit line breaks, are kept."""
    import matplotlib.pyplot as plt

    long = plotting.label("selective_crows_gap")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6, 2))
    ax1.set_ylabel(long)
    ax2.set_ylabel("scratch-llama\nCrowS")
    ax2.set_xlabel("size")
    plotting.fit_axis_labels(fig)
    inches = ax1.get_position().height * 2
    lines = ax1.get_ylabel().split("\n")
    assert len(lines) > 1 and " ".join(lines) == long
    assert all(len(line) * 0.6 * ax1.yaxis.label.get_fontsize() / 72 <= inches for line in lines)
    assert ax2.get_ylabel() == "scratch-llama\nCrowS" and ax2.get_xlabel() == "size"
    plt.close(fig)


def test_shown_size_defaults_to_the_largest_and_names_the_key_of_a_missing_one():
    from fairforget.figures import shown_size

    assert shown_size([400, 100, 1600], None, "figures.remedies") == 1600
    assert shown_size([400, 100], 100, "figures.remedies") == 100
    with pytest.raises(ValueError, match="'figures.remedies.size': 300 is not a CDA size"):
        shown_size([400, 100], 300, "figures.remedies")
    with pytest.raises(ValueError, match="'figures.token_shares': no rows of method 'cda'"):
        shown_size([], None, "figures.token_shares", of="method 'cda'")


def test_every_caption_says_its_protocol_and_n_in_runs():
    from fairforget.figures import protocol_description

    downstream = {"probe": "linear", "tasks": ["sst2", "cola"], "train_size": 500, "dev_size": 400, "seeds": [0]}
    protocol = protocol_description(downstream, {"max_tokens": 20000, "max_length": 256, "seed": 0})
    assert (
        "linear probes" in protocol
        and "sst2, cola" in protocol
        and "500 training and 400 dev examples, 1 seed)" in protocol
    )
    assert "20,000 WikiText-103 test tokens (shuffled paragraphs" in protocol
    paragraphs = protocol_description(downstream, {"max_tokens": 10, "max_length": 8, "seed": 0, "unit": "paragraph"})
    assert "each paragraph scored as its own document" in paragraphs and "own document" not in protocol
    rows = [dict(model="m", method="base", size=0, seed=0, step=0)]
    rows += [dict(model="m", method="cda", size=s, seed=k, step=t) for s in (1, 2) for k in (0, 1) for t in (5, 10)]
    caption = plotting.protocol_caption(pd.DataFrame(rows), protocol)
    assert caption.startswith(" " + protocol) and caption.endswith("m 4.")  # 4 runs of 2 checkpoints each


def test_stereotype_bias_is_the_distance_to_the_ideal_with_its_ci():
    table = pd.DataFrame(
        {"crows": [60.0, 45.0, 52.0], "crows_ci_low": [55.0, 40.0, 48.0], "crows_ci_high": [65.0, 49.0, 56.0]}
    )
    out, name = plotting.with_stereotype_bias(table, "crows")
    assert name == "crows_bias" and list(out[name]) == [10.0, 5.0, 2.0]
    assert list(out["crows_bias_ci_low"]) == [5.0, 1.0, 0.0]  # the last CI contains 50
    assert list(out["crows_bias_ci_high"]) == [15.0, 10.0, 6.0]
    assert plotting.label(name) == "stereotype bias |crows - 50|"
    with pytest.raises(ValueError, match="'downstream_avg' declares no ideal"):
        plotting.with_stereotype_bias(table.assign(downstream_avg=0.7), "downstream_avg")
