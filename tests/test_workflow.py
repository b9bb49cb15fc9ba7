"""The whole DAG on the offline mirror with a micro config, then the caching guarantees:
a second run has nothing to do; a figure option reruns only that figure; a new size schedules only
that size's jobs (and the tables / figure)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO
from safetensors.torch import load_file

from fairforget.benchmarks import enabled_benchmarks
from fairforget.config import merged_config
from fairforget.diagnostics import TOKEN_CLASSES
from fairforget.findings import FINDINGS_VERSION

pytestmark = pytest.mark.workflow

MICRO = {
    "cda": {"sizes": [20]},
    "models": [{"name": "scratch-bert", "path": "scratch"}],
    "methods": ["cda", "wise_ft"],
    "method_settings": {"wise_ft": {"wise_ft": {"of": "cda", "alphas": [0.5]}}},
    "scratch": {
        "vocab_size": 1000,
        "hidden_size": 32,
        "num_heads": 2,
        "intermediate_size": 64,
        "max_length": 32,
        "max_steps": 30,
        "batch_size": 16,
        "warmup_steps": 0,
        "max_corpus_rows": 4000,
    },
    "finetune": {"max_steps": 4, "save_steps": [2, 4], "batch_size": 4, "max_length": 32},
    "evaluation": {
        "crows_pairs": {"max_pairs": 12},
        "forgetting": {"max_tokens": 60, "max_length": 32},
        "seat": {"tests": ["demo-career-family", "sent-demo-science-arts"], "n_samples": 2000},
    },
    "downstream": {"tasks": ["stsb"], "train_size": 64, "batch_size": 16, "max_length": 32, "ci_resamples": 200},
    "analysis": {"bootstrap": {"n_resamples": 200, "confidence": 0.95, "method": "percentile", "seed": 0}},
}
FIGURE_NAMES = ("downstream_vs_forgetting", "stereotype_vs_size", "remedies", "dynamics", "frontier")
FIGURE_NAMES += ("layers", "token_shares", "layer_predictors")  # the diagnostics' (evaluation.benchmarks)
TABLE_RULES = {"metrics_table": 1, "correlations": 1, "figure": len(FIGURE_NAMES), "all": 1}


def micro_benchmarks(workdir: Path) -> list:
    """The benchmarks the micro config runs (crows_pairs, stereoset, seat and both held-out losses)."""
    config = merged_config([workdir / "config.yaml", workdir / ".test/config.yaml", workdir / "micro.yaml"])
    return enabled_benchmarks(config["evaluation"])


def snakemake(workdir: Path, *args: str, overlays=(), env=None) -> str:
    configs = [".test/config.yaml", "micro.yaml", *overlays]
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args, "--configfile", *configs]  # targets first
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout + proc.stderr


def planned_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run, as {rule: count}."""
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^([\w-]+)\s+(\d+)$", table, re.MULTILINE)
        if m.group(1) != "total"
    }


def copy_workflow(work: Path) -> Path:
    """The workflow's files (not results/) in a fresh directory, as a user's clone would have them."""
    for name in ("Snakefile", "config.yaml", "workflow", "config", "profiles", "envs", "src", ".test"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    return work


@pytest.fixture(scope="module")
def built_workdir(tmp_path_factory):
    """The micro workflow run once to the end; tests get their own copy of it (workdir)."""
    work = copy_workflow(tmp_path_factory.mktemp("workflow"))
    (work / "micro.yaml").write_text(yaml.safe_dump(MICRO))
    snakemake(work)
    return work


@pytest.fixture
def workdir(built_workdir, tmp_path):
    """A copy of the built work directory (results/, resources/ and Snakemake's metadata, modification times
    kept), so that a test that reruns or changes something cannot change what another test sees: the tests
    pass in any order."""
    work = tmp_path / "workflow"
    shutil.copytree(built_workdir, work, symlinks=True)
    return work


def test_tables_and_figure(workdir):
    metrics = pd.read_csv(workdir / "results/tables/metrics.csv")
    assert len(metrics) == 1 + 2 + 1  # base + 2 CDA checkpoints + 1 WiSE-FT alpha
    shares = [c for c in metrics if c.startswith("diag_share_")]  # of the base's zero forgetting: undefined
    assert not metrics.drop(columns=["alpha", "stsb_score_sd", *shares]).isna().any().any()  # sd: one downstream seed
    assert metrics.loc[metrics["method"] == "base", shares].isna().all().all()
    assert not metrics.loc[metrics["method"] != "base", shares].isna().any().any()
    wise = metrics[metrics["method"] == "wise_ft"]
    assert (wise["alpha"] == 0.5).all() and (wise["step"] == 4).all() and metrics["alpha"].isna().sum() == 3
    assert (metrics.loc[metrics["method"] == "base", "forgetting"] == 0).all()
    assert set(metrics["size"]) == {0, 20} and set(metrics["step"]) == {0, 2, 4}
    # one evaluation job per run: both CDA steps in one result file, each scored on its own model directory
    run = json.loads((workdir / "results/eval/scratch-bert/cda/size20/seed0/lm_loss.json").read_text())["checkpoints"]
    assert list(run) == ["step2", "step4"] and [r["model_path"][-5:] for r in run.values()] == ["step2", "step4"]
    assert run["step2"]["nll"] != run["step4"]["nll"]
    # every metric the enabled benchmarks declare, and some per variant / per SEAT test
    declared = {m.column for b in micro_benchmarks(workdir) for m in b.metrics}
    expected = declared | {"crows_nangia2020", "crows_bias_bench", "seat_demo-career-family_effect"}
    expected |= {"seat_sent-demo-science-arts_p"}
    assert expected <= set(metrics.columns), expected - set(metrics.columns)
    # overall forgetting on WikiText and on the corpus' in-domain held-out slice, each with a paired CI
    for name in ("forgetting", "forgetting_indomain"):
        assert (metrics[f"{name}_ci_low"] <= metrics[name] + 1e-12).all()
        assert (metrics[name] <= metrics[f"{name}_ci_high"] + 1e-12).all()
    assert metrics["lm_indomain_nll"].ne(metrics["lm_nll"]).all()
    base, tuned = metrics[metrics["method"] == "base"], metrics[metrics["method"] != "base"]
    assert (base[["lm_kl_base", "selective_crows_gap"]] == 0).all().all()
    assert (tuned["lm_kl_base"] >= 0).all() and tuned["lm_kl_base"].max() > 0  # checkpoints moved from the base
    # the fixture's 40 gender dev items; a context longer than the micro model's 32 positions counts as skipped
    assert (metrics["stereoset_n"] + metrics["stereoset_skipped"]).eq(40).all()
    assert metrics["stereoset_n"].gt(30).all()
    assert metrics["stereoset_ss"].between(0, 100).all()
    # STS-B (a sentence-pair regression task) through GLUE's metrics, with a CI over dev examples
    assert {"stsb_score", "stsb_pearson", "stsb_spearmanr", "stsb_score_ci_low"} <= set(metrics.columns)
    assert (metrics["stsb_score_ci_low"] <= metrics["stsb_score"]).all() and (metrics["stsb_seeds"] == 1).all()
    assert pd.read_parquet(workdir / "results/tables/metrics.parquet").shape == metrics.shape
    long = pd.read_parquet(workdir / "results/tables/metrics_long.parquet")
    assert (long["metric"] == "stsb_score").sum() == 4 and (long["downstream_seed"] == 0).sum() == 4 * 3
    corr = pd.read_csv(workdir / "results/tables/correlations.csv")
    assert set(corr["method"]) == {"pearson", "spearman", "kendall"}
    across = corr[(corr["group_by"] == "within_model") & (corr["x"] == "forgetting")]
    assert len(across) == 3 and (across["n_rows"] == 4).all() and across["r"].notna().all()
    assert set(pd.read_csv(workdir / "results/tables/regression.csv")["term"]) == {
        "intercept",
        "forgetting",
        "selective_crows_gap",
    }
    assert "dof" in pd.read_csv(workdir / "results/tables/partial_correlations.csv")
    for name in FIGURE_NAMES:
        for ext in ("png", "pdf"):
            assert (workdir / f"results/figures/{name}.{ext}").stat().st_size > 1000
    numbers = json.loads((workdir / "results/figures/downstream_vs_forgetting.json").read_text())
    assert numbers["pearson_by_model"]["scratch-bert"]["n"] == 4
    # the diagnostics score the tokens overall forgetting is scored on: their breakdown adds up to it
    assert np.allclose(metrics["diag_forgetting"], metrics["forgetting"], atol=1e-9)
    shares = metrics.loc[metrics["method"] != "base", [f"diag_share_{c}" for c in TOKEN_CLASSES]]
    assert np.allclose(shares.sum(axis=1), 1.0)
    contributions = metrics[[f"diag_contribution_{c}" for c in TOKEN_CLASSES]]  # figure 7: nats per token
    assert np.allclose(contributions.sum(axis=1), metrics["forgetting"], atol=1e-9)
    base = metrics[metrics["method"] == "base"].iloc[0]
    assert base["diag_drift"] == 0.0 and base["diag_cka_min"] == pytest.approx(1.0)
    tuned = metrics[metrics["method"] == "cda"]
    assert (tuned["diag_drift"] > 0).all() and {"diag_drift_L0", "diag_cka_L1", "diag_share_freq01"} <= set(metrics)


def test_pretraining_curve_and_figure(workdir):
    curve = pd.read_csv(workdir / "results/models/scratch-bert/pretrain_curve.csv")
    # a point every 20 steps (.test/config.yaml) and the final one
    assert list(curve["step"]) == [20, 30] and curve["tokens"].iloc[-1] == 30 * 16 * 32
    assert curve["unigram_heldout_loss"].nunique() == 1
    numbers = json.loads((workdir / "results/figures/pretraining.json").read_text())
    assert numbers["caption"].startswith("Pretraining of the offline base models")
    assert (workdir / "results/figures/pretraining.png").stat().st_size > 1000


def test_docs_results_writes_findings_figures_and_the_readme_block(workdir):
    shutil.copy(REPO / "README.md", workdir / "README.md")
    (workdir / "docs.yaml").write_text(
        yaml.safe_dump({"docs_results": {"out_dir": "docs_out/demo", "base_tasks": ["stsb"]}})
    )
    snakemake(workdir, "docs_results", overlays=["docs.yaml"])
    out = workdir / "docs_out/demo"
    table = pd.read_csv(out / "findings.csv")
    kept = pd.read_csv(out / "metrics.csv")  # the findings' input, kept beside them
    assert kept.shape == pd.read_csv(workdir / "results/tables/metrics.csv").shape
    # finding 1: the partial r and the overall-vs-selective contrast; finding 3: wise_ft vs cda, 2 rows
    assert list(table["finding"].astype(str)) == ["1", "1", "2", "2", "2", "2", "3", "3"]
    assert table["verdict"].str.match(r"^(supported|contradicted|inconclusive at this scale)").all()
    one = table.iloc[0]
    # n counts runs (clusters), not checkpoints: the cda run (2 saved steps) and its wise_ft run
    assert one["n"] == 2 and one["family"] == "scratch-bert (masked LM)"
    findings_md = (out / "findings.md").read_text()
    readme = (workdir / "README.md").read_text()
    block = readme.split("<!-- findings:start -->", 1)[1].split("<!-- findings:end -->", 1)[0]
    # the README gets each run's verdict counts per finding and a link to the full table
    assert findings_md in (workdir / "docs_out/findings.md").read_text() and "not generated yet" not in block
    verdicts = table.groupby("finding")["verdict"].size()
    assert "| demo | scratch-bert (masked LM) |" in block and "(docs_out/findings.md)" in block
    assert sum(int(n) for n in re.findall(r"(\d+) (?:supported|contradicted|inconclusive|untested)", block)) == (
        verdicts.sum()
    )
    assert (REPO / "README.md").read_text().count("<!-- findings:start -->") == 1
    index = pd.read_csv(workdir / "docs_out/findings.csv")  # every run under docs_out/, with its provenance
    provenance = json.loads((out / "provenance.json").read_text())
    assert set(index["run"]) == {"demo"} and (index["commit"] == provenance["commit"]).all()
    assert "docs_out/demo/README.md" in block
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["config_sha256"])
    assert provenance["findings_version"] == FINDINGS_VERSION and "older estimator" not in block
    base = pd.read_csv(out / "base_glue.csv")
    assert list(base["task"]) == ["stsb"] and base["baseline"].iloc[0] == 0.0
    assert (out / "pretraining.png").stat().st_size > 1000 and (out / "frontier.png").stat().st_size > 1000
    assert "![pretraining](pretraining.png)" in (out / "README.md").read_text()


def test_indomain_heldout_text_is_never_trained_on(workdir):
    """Pretraining, CDA and replay read only the corpus' training part; the held-out slice is the rest."""
    from fairforget.sources import read_texts

    heldout = set(read_texts(workdir / "results/corpus/heldout.jsonl"))
    train = set(read_texts(workdir / "results/corpus/wikitext103.train.jsonl"))
    corpus = {t for t in read_texts(workdir / ".test/data/corpus/wikitext103.jsonl") if t.strip()}
    assert heldout and not heldout & train
    assert heldout | train == corpus


def test_report_has_every_figure_caption_and_the_config(workdir):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--report",
            "report.html",
            "--configfile",
            ".test/config.yaml",
            "micro.yaml",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    for name in (*FIGURE_NAMES, "pretraining"):  # each figure's own caption, as its PNG and JSON have it
        caption = json.loads((workdir / f"results/figures/{name}.json").read_text())["caption"]
        plain = max(re.findall(r"[A-Za-z ,]+", caption[:300]), key=len)  # words only: escaping cannot touch it
        assert len(plain) > 20 and plain in html, (name, plain)
    for phrase in (
        "partial correlation",
        "Configuration of this run",
        "method_settings",
        "scratch-bert",
    ):
        assert phrase.lower() in html.lower(), phrase


def test_second_run_has_nothing_to_do(workdir):
    assert planned_jobs(snakemake(workdir, "-n")) == {}


def test_figure_option_reruns_only_the_figure(workdir):
    (workdir / "figure.yaml").write_text(yaml.safe_dump({"figures": {"frontier": {"ideal": 45}}}))
    output = snakemake(workdir, "-n", overlays=["figure.yaml"])
    assert planned_jobs(output) == {"figure": 1, "all": 1}
    assert re.findall(r"wildcards: figure=(\w+)", output) == ["frontier"]


def test_new_downstream_seed_schedules_only_its_jobs(workdir):
    (workdir / "dseed.yaml").write_text(yaml.safe_dump({"downstream": {"seeds": [0, 1]}}))
    assert planned_jobs(snakemake(workdir, "-n", overlays=["dseed.yaml"])) == {"downstream": 3, **TABLE_RULES}


def test_new_task_and_task_setting_schedule_only_their_jobs(workdir):
    (workdir / "task.yaml").write_text(yaml.safe_dump({"downstream": {"tasks": ["stsb", "rte"]}}))
    assert planned_jobs(snakemake(workdir, "-n", overlays=["task.yaml"])) == {
        "fetch_glue": 2,
        "downstream": 3,
        **TABLE_RULES,
    }
    (workdir / "setting.yaml").write_text(yaml.safe_dump({"downstream": {"task_settings": {"stsb": {"epochs": 3}}}}))
    assert planned_jobs(snakemake(workdir, "-n", overlays=["setting.yaml"])) == {"downstream": 3, **TABLE_RULES}


def test_new_size_schedules_only_its_jobs(workdir):
    (workdir / "size.yaml").write_text(yaml.safe_dump({"cda": {"sizes": [20, 40]}}))
    jobs = planned_jobs(snakemake(workdir, "-n", overlays=["size.yaml"]))
    assert jobs == {
        "cda_subset": 1,
        "finetune": 1,
        "method_wise_ft": 1,
        "evaluate": 2 * len(micro_benchmarks(workdir)),  # a job per run and benchmark
        "downstream": 2,
        **TABLE_RULES,
    }  # a job per run


def test_method_setting_reruns_only_that_method(workdir):
    """A new WiSE-FT alpha adds its model only and re-evaluates that WiSE-FT run; nothing trained is redone."""
    (workdir / "alpha.yaml").write_text(
        yaml.safe_dump({"method_settings": {"wise_ft": {"wise_ft": {"of": "cda", "alphas": [0.5, 0.25]}}}})
    )
    jobs = planned_jobs(snakemake(workdir, "-n", overlays=["alpha.yaml"]))
    assert jobs == {
        "method_wise_ft": 1,
        "evaluate": len(micro_benchmarks(workdir)),  # one per benchmark
        "downstream": 1,
        **TABLE_RULES,
    }


TOY_METHOD = '''"""A toy stand-alone method: the base's weights scaled by each factor."""

from .base import Method


class Shrink(Method):
    name = "shrink"
    title = "shrunk weights"
    trains = False
    config_key = "shrink"
    settings_schema = {"shrink": {"type": "array", "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}}}

    def checkpoint_names(self, spec):
        return [f"scale{f}" for f in spec["shrink"]]

    def checkpoint_keys(self, checkpoint, spec, final_position):
        return {"step": float(checkpoint.removeprefix("scale")), "alpha": None}

    def inputs(self, spec, paths):
        return {"base": paths["base"]()}

    def write_checkpoints(self, inputs, spec, out_dirs, seed):
        import torch

        from ..checkpoints import pooler_tensors, save_model
        from ..modeling import load_lm

        model, tokenizer, _ = load_lm(inputs.base, device="cpu")
        base = {k: v.clone() for k, v in model.state_dict().items()}
        for factor in spec["shrink"]:
            with torch.no_grad():
                model.load_state_dict({k: v * factor if v.is_floating_point() else v for k, v in base.items()})
            save_model(model, tokenizer, out_dirs[f"scale{factor}"], extra_tensors=pooler_tensors(inputs.base))
        return {"factors": spec["shrink"]}
'''


def test_a_toy_method_needs_only_its_module_entry_and_config(workdir):
    """docs/methods.md, "Adding a method": a module, its registry entry and its config block are all a new method
    needs; its rule, runs, evaluations, downstream probes and table rows follow from the registry."""
    methods = workdir / "src/fairforget/methods"
    (methods / "shrink.py").write_text(TOY_METHOD)
    registry = methods / "__init__.py"
    text = registry.read_text().replace(
        "from .wise_ft import WiseFT", "from .shrink import Shrink\nfrom .wise_ft import WiseFT"
    )
    registry.write_text(text.replace("SentenceDebias(), INLP())", "SentenceDebias(), INLP(), Shrink())"))
    (workdir / "toy.yaml").write_text(
        yaml.safe_dump(
            {"methods": ["cda", "wise_ft", "toy-shrink"], "method_settings": {"toy-shrink": {"shrink": [0.9, 0.5]}}}
        )
    )
    (workdir / "bad.yaml").write_text(yaml.safe_dump({"method_settings": {"toy-shrink": {"shrink": [0]}}}))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", ".test/config.yaml", "micro.yaml", "toy.yaml"]
    proc = subprocess.run([*cmd, "bad.yaml"], cwd=workdir, capture_output=True, text=True)
    assert proc.returncode != 0 and "method_settings.toy-shrink.shrink.0" in proc.stdout + proc.stderr  # its own schema
    jobs = planned_jobs(snakemake(workdir, "-n", overlays=["toy.yaml"]))
    assert jobs == {
        "method_toy-shrink": 1,  # its run at the one CDA size and seed (a hyphen in a name is fine)
        "evaluate": len(micro_benchmarks(workdir)),
        "downstream": 1,
        **TABLE_RULES,
    }
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))  # the jobs import this copy's package
    snakemake(workdir, overlays=["toy.yaml"], env=env)
    metrics = pd.read_csv(workdir / "results/tables/metrics.csv")
    toy = metrics[metrics["method"] == "toy-shrink"].sort_values("step")
    assert toy["step"].tolist() == [0.5, 0.9] and (toy["size"] == 20).all()
    assert toy["forgetting"].notna().all() and toy["stsb_score"].notna().all()
    assert toy["forgetting"].iloc[0] > toy["forgetting"].iloc[1]  # halved weights forget more than 0.9 x


TOY_FIGURE = '''"""A toy figure: the metrics table's rows per method."""

from .base import Figure


class RowCount(Figure):
    name = "row_count"
    number = "9"
    title = "toy: rows per method"
    description = "a toy figure: the metrics table's rows per method"
    settings_schema = {"colour": {"type": "string"}}

    def draw(self, data, settings, shared, out_paths):
        from ..plotting import page_settings, save
        import matplotlib.pyplot as plt

        counts = data.groupby("method").size()
        caption = f"Toy figure. Rows of the metrics table per method, {len(data)} in all."
        fig, ax = plt.subplots(figsize=(settings["width"], settings["height"]))
        ax.bar(list(counts.index), list(counts.values), color=settings["colour"])
        save(fig, out_paths, page_settings(settings, caption))
        return {"rows": {k: int(v) for k, v in counts.items()}, "caption": caption}
'''


def test_a_toy_figure_needs_only_its_module_entry_and_config(workdir):
    """docs/analysis.md, "Adding a figure": a module, its registry entry and its config block are all a new figure
    needs; its job, schema, default target and report caption follow from the registry."""
    figures = workdir / "src/fairforget/figures"
    (figures / "row_count.py").write_text(TOY_FIGURE)
    registry = figures / "__init__.py"
    text = registry.read_text().replace(
        "from .remedies import", "from .row_count import RowCount\nfrom .remedies import"
    )
    registry.write_text(text.replace("        Pretraining(),\n", "        Pretraining(),\n        RowCount(),\n"))
    block = {"colour": "tab:green", "dpi": 60, "width": 4, "height": 3}
    (workdir / "toy.yaml").write_text(yaml.safe_dump({"figures": {"row_count": block}}))
    (workdir / "bad.yaml").write_text(yaml.safe_dump({"figures": {"row_count": {"colour": 3}}}))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", ".test/config.yaml", "micro.yaml"]
    missing = "'figures': 'row_count' is a required property"
    for overlays, key in (([], missing), (["toy.yaml", "bad.yaml"], "figures.row_count.colour")):
        proc = subprocess.run([*cmd, *overlays], cwd=workdir, capture_output=True, text=True)
        assert proc.returncode != 0 and key in proc.stdout + proc.stderr  # its block is required, by its schema
    output = snakemake(workdir, "-n", overlays=["toy.yaml"])
    assert planned_jobs(output) == {"figure": 1, "all": 1}  # nothing else reruns
    assert re.findall(r"wildcards: figure=(\w+)", output) == ["row_count"]
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))  # the job imports this copy's package
    snakemake(workdir, overlays=["toy.yaml"], env=env)
    numbers = json.loads((workdir / "results/figures/row_count.json").read_text())
    metrics = pd.read_csv(workdir / "results/tables/metrics.csv")
    assert numbers["rows"] == metrics.groupby("method").size().to_dict()
    assert (workdir / "results/figures/row_count.png").stat().st_size > 1000
    report = [sys.executable, "-m", "snakemake", "--report", "report.html", "--configfile"]
    proc = subprocess.run(
        [*report, ".test/config.yaml", "micro.yaml", "toy.yaml"], cwd=workdir, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    assert "Toy figure. Rows of the metrics table per method" in html and "toy: rows per method" in html


def test_demo_config_plans_the_projection_debiasers(tmp_path):
    """The demo's methods [cda, sentence_debias, inlp, wise_ft]: SentenceDebias at its CDA size, INLP without one."""
    work = copy_workflow(tmp_path)
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--configfile", ".test/config.yaml"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    jobs = planned_jobs(output)
    models = 2  # scratch BERT and Llama, one seed
    assert jobs["method_sentence_debias"] == models and jobs["method_inlp"] == models
    assert jobs["method_wise_ft"] == 2 * models and jobs["finetune"] == 2 * models  # both CDA sizes
    assert "results/models/scratch-llama/inlp/seed0/iter5" in output
    assert "results/models/scratch-bert/sentence_debias/size40/seed0/rank2" in output


def test_lint_reports_nothing(workdir):
    cmd = [sys.executable, "-m", "snakemake", "--lint", "--configfile", ".test/config.yaml", "micro.yaml"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in output, output


@pytest.mark.parametrize("args", [["--configfile", "config/paper.yaml"], ["--profile", "profiles/slurm"]])
def test_paper_config_and_slurm_profile_dry_run(args, tmp_path):
    """The paper's setting and the Slurm profile build their DAG without a cluster or network."""
    work = copy_workflow(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=work, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    jobs = planned_jobs(output)
    assert jobs["finetune"] >= 1 and jobs["metrics_table"] == 1
    if "--profile" in args:  # what a cluster run would submit
        evaluation = ("evaluate", "downstream")
        alone = set(re.findall(r"^rule (\w+):", output, re.MULTILINE))  # a dry run prints local jobs so too
        groups = re.findall(r"Group job eval_(\S+) \(", output)
        assert not alone & set(evaluation), "evaluation jobs must go out in their run's group job"
        local = {
            name
            for smk in (work / "workflow/rules").glob("*.smk")
            for block in re.findall(r"^localrules:\n((?:    \w+,\n)+)", smk.read_text(), re.MULTILINE)
            for name in re.findall(r"\w+", block)
        }
        downloads = {name for name in alone if name.startswith("fetch_")}
        assert downloads and downloads | {"metrics_table", "correlations", "figure"} <= local
        assert "finetune" in alone and not local & {"finetune", "method_wise_ft", "ewc_fisher", *evaluation}
        runs = re.findall(r"^\s+wildcards: .*benchmark=lm_loss$", output, re.MULTILINE)  # lm_loss: one job per run
        assert len(groups) == len(set(groups)) == len(runs) > 0  # one group job per run
        members = re.findall(r"^    rule (\w+):", output, re.MULTILINE)
        assert sorted(members) == sorted(r for r in evaluation for _ in range(jobs[r]))


def test_invalid_config_fails_before_any_job(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text(yaml.safe_dump({"finetune": {"learning_rte": 1e-4}}))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", "bad.yaml"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    assert proc.returncode != 0 and "finetune.learning_rte" in proc.stdout + proc.stderr


def test_same_config_and_seed_give_same_numbers(workdir):
    """Retrain the scratch model and everything after it: every number in the table comes out the same.
    (The tokenizer is cached: tokenizers' WordPiece trainer is not deterministic, huggingface/tokenizers#1794.)"""
    before = pd.read_csv(workdir / "results/tables/metrics.csv")
    snakemake(workdir, "--forcerun", "pretrain_scratch", "--until", "metrics_table")  # figures: not needed here
    after = pd.read_csv(workdir / "results/tables/metrics.csv")
    pd.testing.assert_frame_equal(before, after)


def test_evaluation_rules_score_a_causal_lm(workdir, tiny_llama, tmp_path):
    """A local Llama-architecture model goes through the same evaluation rules as the BERT models."""
    model, tokenizer, _ = tiny_llama
    model.save_pretrained(tmp_path / "tiny-llama")
    tokenizer.save_pretrained(tmp_path / "tiny-llama")
    models = [{"name": "scratch-bert", "path": "scratch"}, {"name": "tiny-llama", "path": str(tmp_path / "tiny-llama")}]
    (workdir / "causal.yaml").write_text(yaml.safe_dump({"models": models}))
    targets = [f"results/eval/tiny-llama/base/{name}.json" for name in ("crows_pairs", "stereoset", "seat", "lm_loss")]
    snakemake(workdir, *targets, overlays=["causal.yaml"])
    crows, stereoset, _, lm = (json.loads((workdir / t).read_text())["checkpoints"]["base"] for t in targets)
    assert crows["model_kind"] == "causal" and set(crows["variants"]) == {"causal_sum", "causal_mean"}
    assert stereoset["variant"] == "bias_bench_causal" and stereoset["n"] + stereoset["skipped"] == 40
    assert lm["measure"] == "causal_log_likelihood" and lm["n_tokens"] == 60
    assert len(lm["dataset_sha256"]) == 1 and lm["versions"]["transformers"]


def test_killed_finetune_resumes_to_the_same_weights(workdir):
    """SIGKILL Snakemake and its fine-tuning job mid-way, rerun the rule: training continues from the newest
    complete Trainer checkpoint and ends at the same weights as an uninterrupted run with the same seed."""
    (workdir / "resume.yaml").write_text(
        yaml.safe_dump(
            {"seeds": [7], "finetune": {"max_steps": 1000, "save_steps": [500, 1000], "checkpoint_every": 50}}
        )
    )
    target = "results/models/scratch-bert/cda/size20/seed7/train_metrics.json"
    final = workdir / "results/models/scratch-bert/cda/size20/seed7/step1000/model.safetensors"
    trainer_dir = workdir / "results/train_state/scratch-bert/cda/size20/seed7/trainer"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        target,
        "--configfile",
        ".test/config.yaml",
        "micro.yaml",
        "resume.yaml",
    ]
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not any(
        int(d.name.split("-")[1]) >= 100 and (d / "trainer_state.json").is_file()
        for d in trainer_dir.glob("checkpoint-*")
    ):
        assert proc.poll() is None and time.monotonic() < deadline, "training ended or stalled before a checkpoint"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not final.exists()

    snakemake(workdir, "--unlock", overlays=["resume.yaml"])
    snakemake(workdir, target, overlays=["resume.yaml"])
    log = (workdir / "results/logs/finetune/scratch-bert/cda/size20/seed7.log").read_text()
    assert "resuming from" in log and json.loads((workdir / target).read_text())["resumed_from_step"] >= 100
    resumed = load_file(final)
    assert not trainer_dir.parent.exists()  # the resume state is removed after success

    snakemake(workdir, target, "--forcerun", "finetune", overlays=["resume.yaml"])
    assert json.loads((workdir / target).read_text())["resumed_from_step"] == 0
    uninterrupted = load_file(final)
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)


def test_cda_draw_per_seed_gives_each_seed_its_own_subsets(tmp_path):
    """cda.draw_per_seed: seed s reads the subsets of draw cda.seed + s; off, every seed reads cda.seed's."""
    work = copy_workflow(tmp_path)
    drawn = {}
    for per_seed in (False, True):
        overlay = {"seeds": [0, 1], "cda": {"seed": 3, "draw_per_seed": per_seed}}
        (work / "draw.yaml").write_text(yaml.safe_dump(overlay))
        cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", ".test/config.yaml", "draw.yaml"]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        drawn[per_seed] = set(re.findall(r"results/cda/(draw\d+)/size\d+\.jsonl", proc.stdout))
    assert drawn == {False: {"draw3"}, True: {"draw3", "draw4"}}
