"""Check the smoke workflow's outputs: the table, the correlations, the figure, the scratch model."""

import json
import sys

import pandas as pd
import yaml

ci = yaml.safe_load(open("config/ci.yaml"))
sizes, steps = ci["cda"]["sizes"], sorted(set(ci["finetune"]["save_steps"]) | {ci["finetune"]["max_steps"]})
metrics = pd.read_csv("results/tables/metrics.csv")
problems = []
if len(metrics) != 1 + len(sizes) * len(steps):
    problems.append(f"metrics.csv has {len(metrics)} rows, expected {1 + len(sizes) * len(steps)}")
if metrics.isna().any().any():
    problems.append(f"NaN in metrics.csv columns {list(metrics.columns[metrics.isna().any()])}")
evaluation = {"crows", "crows_nangia2020", "crows_bias_bench", "stereoset_ss", "stereoset_lms", "stereoset_icat",
              "seat_mean_abs_effect", "lm_kl_base", "selective_crows_stereo", "selective_stereoset_gap"}
if not evaluation <= set(metrics.columns):
    problems.append(f"metrics.csv lacks evaluation columns {sorted(evaluation - set(metrics.columns))}")
elif not (metrics.loc[metrics["method"] != "base", "lm_kl_base"] > 0).any():
    problems.append("KL(base || checkpoint) is zero for every checkpoint")
corr = pd.read_csv("results/tables/correlations.csv")
if corr[["r", "p"]].isna().any().any() or set(corr["method"]) != {"pearson", "spearman"}:
    problems.append(f"correlations.csv incomplete:\n{corr}")
for ext in ("png", "pdf"):
    try:
        with open(f"results/figures/downstream_vs_forgetting.{ext}", "rb") as f:
            if len(f.read()) < 1000:
                problems.append(f"figure .{ext} is nearly empty")
    except FileNotFoundError:
        problems.append(f"figure .{ext} missing")
pretrain = json.load(open("results/models/scratch-bert/pretrain_metrics.json"))
if not pretrain["heldout_loss"] < 0.8 * pretrain["random_init_heldout_loss"]:
    problems.append(f"scratch model barely trained: {pretrain['heldout_loss']:.3f} vs random "
                    f"{pretrain['random_init_heldout_loss']:.3f}")
if not pretrain["heldout_loss"] < pretrain["unigram_heldout_loss"]:
    problems.append(f"scratch model no better than unigram frequencies ({pretrain['unigram_heldout_loss']:.3f})")
if not metrics["sst2_accuracy"].max() > 0.6:
    problems.append("SST-2 probe did not learn (accuracy at chance for every model)")
print(metrics.to_string(index=False))
print(corr.to_string(index=False))
print(f"scratch held-out MLM loss {pretrain['heldout_loss']:.3f} vs random init "
      f"{pretrain['random_init_heldout_loss']:.3f} (unigram {pretrain['unigram_heldout_loss']:.3f})")
if problems:
    sys.exit("smoke check failed:\n" + "\n".join(problems))
print("smoke check passed")
