"""Check the smoke workflow's outputs: a row per model, method, size, seed and checkpoint; the statistics
tables, every figure of the figure registry and the report, the scratch models; then print the figures' key
numbers, forgetting and tokens/s per method (for the closing note)."""

import json
import sys

import numpy as np
import pandas as pd
import yaml
from snakemake.utils import update_config

from fairforget.benchmarks import enabled_benchmarks
from fairforget.budget import checkpoint_names
from fairforget.diagnostics import TOKEN_CLASSES
from fairforget.figures import FIGURES, drawn_figures
from fairforget.findings import trivial_glue_baseline
from fairforget.io import read_jsonl
from fairforget.methods import method_checkpoints, method_runs, method_sizes, method_specs, trains

cfg = {}
for path in ("config.yaml", "config/offline.yaml", "config/ci.yaml"):  # merged as Snakemake merges --configfile
    update_config(cfg, yaml.safe_load(open(path)))
sizes, steps = cfg["cda"]["sizes"], sorted(set(cfg["finetune"]["save_steps"]) | {cfg["finetune"]["max_steps"]})
models = [m["name"] for m in cfg["models"]]
# the rows each method's registry entries promise: its runs times the checkpoints of each
specs = method_specs(cfg["methods"], cfg["method_settings"])
method_size = method_sizes(specs, sizes)
checkpoints = checkpoint_names(cfg["finetune"])
per_method = {
    m: len(method_runs(m, spec, method_size[m], cfg["seeds"])) * len(method_checkpoints(spec, checkpoints))
    for m, spec in specs.items()
}
trained = [m for m, spec in specs.items() if trains(spec)]
expected_rows = len(models) * (1 + sum(per_method.values()))  # one base row per model
metrics = pd.read_csv("results/tables/metrics.csv")
problems = []
if len(metrics) != expected_rows:
    problems.append(f"metrics.csv has {len(metrics)} rows, expected {expected_rows}")
for model in models:
    missing = set(cfg["methods"]) - set(metrics.loc[metrics["model"] == model, "method"])
    if missing:
        problems.append(f"{model}: no rows for methods {sorted(missing)}")
spreads = [c for c in metrics.columns if c.endswith("_score_sd")]  # NaN with a single downstream seed
shares = [c for c in metrics.columns if c.startswith("diag_share_")]  # undefined for the base: zero forgetting
for model, rows in metrics.drop(columns=["alpha", *spreads]).groupby("model"):
    rows = rows.dropna(axis=1, how="all")  # variants of the other model family (masked vs causal CrowS scores)
    nan = rows.drop(columns=shares).isna().any() | rows.loc[rows["method"] != "base", shares].isna().any()
    if nan.any():
        problems.append(f"{model}: NaN in metrics.csv columns {list(nan[nan].index)}")
# every metric the enabled benchmarks declare (fairforget.benchmarks), and the selective-forgetting columns
evaluation = {m.column for b in enabled_benchmarks(cfg["evaluation"]) for m in b.metrics}
if not evaluation <= set(metrics.columns):
    problems.append(f"metrics.csv lacks evaluation columns {sorted(evaluation - set(metrics.columns))}")
elif not (metrics.loc[metrics["method"] != "base", "lm_kl_base"] > 0).any():
    problems.append("KL(base || checkpoint) is zero for every checkpoint")
# overall forgetting on WikiText and on the in-domain held-out slice, each with a paired CI; downstream_avg's CI
for column in ("forgetting", "forgetting_indomain", "downstream_avg"):
    low, high = metrics.get(f"{column}_ci_low"), metrics.get(f"{column}_ci_high")
    if low is None or not ((low <= metrics[column] + 1e-9) & (metrics[column] <= high + 1e-9)).all():
        problems.append(f"{column}: CI missing or not around the value")
# figure 3 draws finding 3's paired t interval over seeds: with one seed there is none, and the caption must name
# every bar drawn without one; with several, none may lack it
remedies = json.load(open("results/figures/remedies.json"))
drawn = sorted(f"{m} {name} ({c})" for m, per in remedies["by_model"].items() for name, cs in per.items() for c in cs)
if not drawn:
    problems.append(
        f"figure remedies: no method matched plain CDA's stereotype bias (unmatched: {remedies['unmatched']})"
    )
if sorted(remedies["without_ci"]) != (drawn if len(cfg["seeds"]) < 2 else []):
    problems.append(f"figure remedies: bars without a CI {remedies['without_ci']} (seeds {cfg['seeds']})")
corr = pd.read_csv("results/tables/correlations.csv")
key = corr[(corr["x"] == "forgetting") & corr["group_by"].isin(["within_model", "model"])]
if set(corr["method"]) != {"pearson", "spearman", "kendall"} or key[["r", "p", "ci_low", "ci_high"]].isna().any().any():
    problems.append(f"correlations.csv incomplete:\n{key}")
for name in ("partial_correlations", "regression", "metrics_long"):
    table = (
        pd.read_parquet(f"results/tables/{name}.parquet")
        if name == "metrics_long"
        else pd.read_csv(f"results/tables/{name}.csv")
    )
    if table.empty:
        problems.append(f"{name} is empty")
figures = drawn_figures(cfg)  # the figure registry's, for this config
if not {name for name, f in FIGURES.items() if f.diagnostics} <= set(figures):
    problems.append(f"the smoke draws no diagnostics figures (figures: {figures}); ci.yaml turns diagnostics on")
diagnostics = ["diag_drift", "diag_cka_min", "diag_cka_stereo_min", "diag_forgetting", "diag_contribution_gendered"]
missing_columns = [c for c in diagnostics if c not in metrics or metrics[c].isna().all()]
if missing_columns:
    problems.append(f"diagnostics columns missing or empty: {missing_columns}")
elif not np.allclose(metrics["diag_forgetting"], metrics["forgetting"], atol=1e-6):
    problems.append("the diagnostics' NLL change differs from overall forgetting (they score the same tokens)")
elif not np.allclose(metrics[[f"diag_contribution_{c}" for c in TOKEN_CLASSES]].sum(axis=1), metrics["forgetting"]):
    problems.append("the token classes' contributions (figure 7) do not add up to overall forgetting")
for path in [f"results/figures/{name}.{ext}" for name in figures for ext in ("png", "pdf", "json")] + [
    "results/report.html"
]:
    try:
        with open(path, "rb") as f:
            if len(f.read()) < 200:
                problems.append(f"{path} is nearly empty")
    except FileNotFoundError:
        problems.append(f"{path} missing")
for model in models:
    pretrain = json.load(open(f"results/models/{model}/pretrain_metrics.json"))
    if not pretrain["heldout_loss"] < 0.8 * pretrain["random_init_heldout_loss"]:
        problems.append(
            f"{model} barely trained: {pretrain['heldout_loss']:.3f} vs random "
            f"{pretrain['random_init_heldout_loss']:.3f}"
        )
    if not pretrain["heldout_loss"] < pretrain["unigram_heldout_loss"]:
        problems.append(f"{model} no better than unigram frequencies ({pretrain['unigram_heldout_loss']:.3f})")
    print(
        f"{model}: held-out {pretrain['kind']} LM loss {pretrain['heldout_loss']:.3f} vs random init "
        f"{pretrain['random_init_heldout_loss']:.3f} (unigram {pretrain['unigram_heldout_loss']:.3f}), "
        f"{pretrain['tokens_per_second']:.0f} tokens/s"
    )
    for task in cfg["downstream"]["tasks"]:  # some checkpoint's whole dev-score CI above the input-blind baseline
        labels = [
            [r["label"] for r in read_jsonl(f"resources/glue/{task}/{split}.jsonl")] for split in ("train", "dev")
        ]
        baseline = trivial_glue_baseline(task, *labels)
        if not metrics.loc[metrics["model"] == model, f"{task}_score_ci_low"].max() > baseline:
            problems.append(f"{model}: {task} probe did not learn (no checkpoint's CI above {baseline:.3f})")
with pd.option_context("display.width", 250, "display.max_columns", 12):
    print(metrics.to_string(index=False))
    print(key[key["method"] == "pearson"].to_string(index=False))
    final = metrics[(metrics["method"] == "base") | (metrics["step"] == steps[-1])]
    summary = final.groupby(["model", "method"], dropna=False)[
        ["forgetting", "lm_kl_base", "crows", "selective_crows_gap", "downstream_avg"]
    ].mean()
    speed = [
        dict(
            model=model,
            method=method,
            tokens_per_second=json.load(
                open(f"results/models/{model}/{method}/size{size}/seed{seed}/train_metrics.json")
            )["tokens_per_second"],
        )
        for model in models
        for method in trained
        for size in sizes
        for seed in cfg["seeds"]
    ]
    summary = summary.join(pd.DataFrame(speed).groupby(["model", "method"]).mean())
    print("final step, mean over sizes and seeds:")
    print(summary.round(4).to_string())
if not problems:
    fig1 = json.load(open("results/figures/downstream_vs_forgetting.json"))
    for model, fit in fig1["pearson_by_model"].items():
        print(
            f"figure 1, {model}: Pearson r(downstream, forgetting) = {fit['r']:.3f} "
            f"[{fit['ci_low']:.3f}, {fit['ci_high']:.3f}], p = {fit['p']:.3g}, n = {fit['n']}"
        )
    fig2 = json.load(open("results/figures/stereotype_vs_size.json"))
    for metric, per_model in fig2["metrics"].items():
        for model, values in per_model.items():
            print(
                f"figure 2, {model}: {metric} slope per doubling of CDA size = "
                f"{values['slope_per_doubling']['slope']:.4g}"
            )
if problems:
    sys.exit("smoke check failed:\n" + "\n".join(problems))
print("smoke check passed")
