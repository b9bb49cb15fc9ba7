import hashlib
import json
import re
import sys
from pathlib import Path

# This checkout's fairforget package, for the Snakefile and for every script job: Snakemake's script preamble
# appends this sys.path to the job's, so jobs in a conda env (--sdm conda) or on a cluster node import it too.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from fairforget.benchmarks import BENCHMARKS, enabled_benchmarks
from fairforget.config import scratch_settings, validate_config
from fairforget.figures import FIGURES, drawn_figures, report_caption
from fairforget.glue import GLUE_TASKS
from fairforget.budget import budget_settings, checkpoint_names, checkpoint_position
from fairforget.methods import (
    checkpoint_keys,
    method_checkpoints,
    method_role,
    method_runs,
    method_sizes,
    method_specs,
    standalone_entry,
    trains,
    training_inputs,
    training_settings,
)
from fairforget.resources import job_resources, model_parameters

validate_config(config, str(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))

# Conda environments (snakemake --sdm conda): model work vs tables and figures; pins mirror requirements.txt.
ENVS = {"torch": "../../envs/torch.yaml", "analysis": "../../envs/analysis.yaml"}
MODELS = {m["name"]: m["path"] for m in config["models"]}
MODEL_REVISIONS = {m["name"]: m.get("revision") for m in config["models"]}
SCRATCH_MODELS = [name for name, path in MODELS.items() if path == "scratch"]
SCRATCH_ARCHITECTURES = {m["name"]: m.get("architecture", "bert") for m in config["models"] if m["path"] == "scratch"}
# each scratch model's pretraining recipe: the shared `scratch` section with the model's own `scratch` keys on top
# (a masked and a causal LM converge under different recipes), so changing one model's recipe reruns only its jobs
SCRATCH_SETTINGS = {
    m["name"]: scratch_settings(config["scratch"], m) for m in config["models"] if m["path"] == "scratch"
}
# models given as a GGUF file (models[].gguf): fetched and converted to a plain checkpoint, wherever the file is
MODEL_GGUF = {m["name"]: m.get("gguf") for m in config["models"]}
LOCAL_MODELS = {
    name: path for name, path in MODELS.items() if path != "scratch" and Path(path).is_dir() and not MODEL_GGUF[name]
}
HUB_MODELS = [name for name in MODELS if name not in SCRATCH_MODELS and name not in LOCAL_MODELS]
SIZES = config["cda"]["sizes"]
SEEDS = config["seeds"]
# the configured methods, each made of method registry entries (fairforget.methods): trained ones share the
# `finetune` rule, each stand-alone one (WiSE-FT, a projection debiaser) gets a rule of its own (finetune.smk)
METHOD_SPECS = method_specs(config["methods"], config["method_settings"])
METHODS = list(METHOD_SPECS)
TRAINED_METHODS = [m for m in METHODS if trains(METHOD_SPECS[m])]
STANDALONE_METHODS = [m for m in METHODS if not trains(METHOD_SPECS[m])]
# finding 3's role of each (remedy, objective, projection): figure 3 and the findings table compare by it
METHOD_ROLES = {name: method_role(spec) for name, spec in METHOD_SPECS.items()}
METHOD_SIZES = method_sizes(METHOD_SPECS, SIZES)  # method -> the CDA sizes it runs at (method_settings.<m>.sizes)
# a fine-tuning run's checkpoints: step<N> for a step budget, frac<f> (share of the budget) for epochs/tokens
CHECKPOINTS = checkpoint_names(config["finetune"])
FINAL_CHECKPOINT = CHECKPOINTS[-1]
# method -> its runs ({run, size, seed}) and the checkpoint names of each run, as its registry entries declare
METHOD_RUNS = {m: method_runs(m, spec, METHOD_SIZES[m], SEEDS) for m, spec in METHOD_SPECS.items()}
METHOD_CHECKPOINTS = {m: method_checkpoints(spec, CHECKPOINTS) for m, spec in METHOD_SPECS.items()}
TASKS = config["downstream"]["tasks"]
DOWNSTREAM_SEEDS = config["downstream"]["seeds"]


def hub_source(key):
    """The hub_datasets entry ({id, revision}) a fetch rule reads; None with a local mirror, so that a changed
    revision reruns only the fetches that read the Hub."""
    return None if config["data_dir"] else config["hub_datasets"][key]


def download_source():
    """The downloads block (GitHub files pinned to commits) for the fetch rules that read it; None with a mirror."""
    return None if config["data_dir"] else config["downloads"]


def corpus_hub_source(corpus):
    """The hub_datasets entry a named corpus is read from (None for mirror-only corpora such as brown)."""
    from fairforget.sources import CORPORA

    hub, _ = CORPORA[corpus]
    return hub_source(hub[0]) if hub else None


def corpus_sources():
    """Corpus files as configured: a known corpus name is fetched into resources/, anything else is a local path."""
    from fairforget.sources import CORPORA

    return [f"resources/corpus/{c}.jsonl" if c in CORPORA else c for c in config["corpus"]]


def corpus_files():
    """The corpora without their in-domain held-out slice: the only text pretraining, CDA and replay read."""
    stems = [Path(source).name.split(".")[0] for source in corpus_sources()]
    if len(set(stems)) < len(stems):
        raise ValueError(f"config key 'corpus': two corpora share a file name ({stems}); rename one")
    return [f"results/corpus/{stem}.train.jsonl" for stem in stems]


CORPUS_HELDOUT = "results/corpus/heldout.jsonl"  # in-domain text no training step sees (split_corpus)


def word_list_files():
    """Files each configured CDA word list is read from (the 'names' list ships with the package)."""
    builtin = {
        "bias_bench": ["resources/bias_attribute_words.json"],
        "winobias": ["resources/winobias/generalized_swaps.txt", "resources/winobias/extra_gendered_words.txt"],
        "names": [],
    }
    return [[spec, builtin.get(spec, [spec])] for spec in config["cda"]["word_lists"]]


def alternatives(names):
    """A wildcard regex matching exactly these names (never matching when the list is empty)."""
    return "|".join(map(re.escape, names)) if names else "(?!x)x"


wildcard_constraints:
    model=alternatives(MODELS),
    method=alternatives(METHODS),
    size=r"\d+",
    seed=r"\d+",
    draw=r"\d+",
    dseed=r"\d+",
    step=r"\d+",
    alpha=r"[0-9.]+",
    run=r"base|[^/]+/(size\d+/)?seed\d+",  # a method's run, with or without a CDA size


def base_model_dir(model):
    """Where the base model's save_pretrained directory lives (pretrained, fetched or given)."""
    if model in SCRATCH_MODELS:
        return f"results/models/{model}/base"
    if model in LOCAL_MODELS:
        return LOCAL_MODELS[model]
    return f"resources/models/{model}"


# On a cluster, a run's evaluation and downstream jobs go out as one group job (one sbatch) when the profile
# sets group-components for this group (profiles/slurm); locally groups are ignored.
EVAL_GROUP = "eval_{model}_{run}"
ENABLED_BENCHMARKS = enabled_benchmarks(config["evaluation"])


def run_checkpoints(model, run):
    """{checkpoint name: model directory} of one run: the base model ("base"), a trained run's saved steps
    ("step<N>", or "frac<f>" under an epoch or token budget), or a stand-alone method's checkpoints (as its
    registry entry names them). Evaluation jobs take a whole run at once."""
    if run == "base":
        return {"base": base_model_dir(model)}
    method = run.split("/")[0]
    return {name: f"results/models/{model}/{run}/{name}" for name in METHOD_CHECKPOINTS[method]}


def run_model_dirs(wildcards):
    return list(run_checkpoints(wildcards.model, wildcards.run).values())


def run_checkpoint_names(wildcards):
    return list(run_checkpoints(wildcards.model, wildcards.run))


def evaluation_inputs(wildcards):
    """The run's checkpoints, the benchmark's data (as its registry entry declares it), and the base model when
    the benchmark compares a fine-tuned run with it (KL(base || checkpoint))."""
    benchmark = BENCHMARKS[wildcards.benchmark]
    settings = benchmark.settings_from(config["evaluation"])
    inputs = {"models": run_model_dirs(wildcards), **benchmark.inputs(settings)}
    supplied = {
        "corpus": corpus_files,
        "word_lists": lambda: [f for _, files in word_list_files() for f in files],
        # the run's and its base's held-out token NLLs (the diagnostics split them by token class)
        "lm_loss": lambda: list(
            dict.fromkeys(f"results/eval/{wildcards.model}/{run}/lm_loss.json" for run in (wildcards.run, "base"))
        ),
    }
    inputs.update({name: supplied[name]() for name in benchmark.workflow_inputs})
    if benchmark.uses_base_model(settings) and wildcards.run != "base":
        inputs["base"] = base_model_dir(wildcards.model)
    return inputs


def cda_draw(seed) -> int:
    """The shuffle seed of the CDA subsets training seed `seed` reads: cda.seed, plus the training seed when
    cda.draw_per_seed (then the seeds replicate the data draw, not only the training order)."""
    return config["cda"]["seed"] + (int(seed) if config["cda"]["draw_per_seed"] else 0)


def cda_subset_file(size, seed):
    return f"results/cda/draw{cda_draw(seed)}/size{size}.jsonl"


# the files the workflow supplies a trained method's job, by the names the registry entries ask for
TRAINING_INPUTS = {
    "general": lambda wildcards: "results/general/texts.jsonl",
    "fisher": lambda wildcards: f"results/models/{wildcards.model}/fisher.safetensors",
}


def finetune_inputs(wildcards):
    """Base model and CDA subset, and what the method's training entries ask for (general text, Fisher)."""
    spec = METHOD_SPECS[wildcards.method]
    inputs = dict(base=base_model_dir(wildcards.model), data=cda_subset_file(wildcards.size, wildcards.seed))
    inputs.update({name: TRAINING_INPUTS[name](wildcards) for name in training_inputs(spec)})
    return inputs


def standalone_inputs(method):
    """The input function of a stand-alone method's rule: the files its registry entry asks for, from the
    workflow's paths for the job's wildcards."""
    spec = METHOD_SPECS[method]
    entry = standalone_entry(spec)

    def inputs(wildcards):
        size = getattr(wildcards, "size", None)
        paths = {
            "base": lambda: base_model_dir(wildcards.model),
            "cda_subset": lambda: cda_subset_file(size, wildcards.seed),
            "corpus": corpus_files,
            "bias_attribute_words": lambda: "resources/bias_attribute_words.json",
            "final_checkpoint": lambda source: (
                f"results/models/{wildcards.model}/{source}/size{size}/seed{wildcards.seed}/{FINAL_CHECKPOINT}"
            ),
        }
        return entry.inputs(spec, paths)

    return inputs


def evaluated_models():
    """(model, method, size, seed, step, alpha, run, checkpoint) of every evaluated model, base first (once per
    model, under the first training seed: it is one observation). A checkpoint's step and alpha are its method's
    registry entry's (a training step; a WiSE-FT alpha at its source's final step; a projection's knob)."""
    final_position = checkpoint_position(FINAL_CHECKPOINT)
    for model in MODELS:
        yield dict(model=model, method="base", size=0, seed=SEEDS[0], step=0, alpha=None, run="base", checkpoint="base")
        for seed in SEEDS:
            for method in METHODS:
                spec = METHOD_SPECS[method]
                for run_info in (r for r in METHOD_RUNS[method] if r["seed"] == seed):
                    for name in METHOD_CHECKPOINTS[method]:
                        keys = checkpoint_keys(spec, name, final_position)
                        # a dict literal: snakefmt 2.1 reads a line starting with `run=` as a `run:` block
                        yield {
                            "model": model,
                            "method": method,
                            "size": run_info["size"],
                            "seed": seed,
                            "step": keys["step"],
                            "alpha": keys["alpha"],
                            "run": run_info["run"],
                            "checkpoint": name,
                        }


def downstream_settings(task):
    """The downstream recipe of one GLUE task: the shared settings with the task's own overrides on top,
    so that changing one task's recipe reruns only that task's jobs."""
    shared = {k: v for k, v in config["downstream"].items() if k not in ("tasks", "seeds", "task_settings")}
    return shared | config["downstream"].get("task_settings", {}).get(task, {})


def threads_for(kind):
    """CPU threads of a job of this kind (Slurm: --cpus-per-task): import-bound jobs run side by side with 1."""
    return config["resources"][kind].get("threads", 1)


def resources_for(kind):
    """Cluster resources of a job of this kind that does not depend on a model (see fairforget.resources)."""
    return job_resources(config["resources"][kind])


MODEL_PARAMETERS = {
    m["name"]: model_parameters(m, scratch_settings(config["scratch"], m), base_model_dir(m["name"]))
    for m in config["models"]
}


def model_resources(kind):
    """Cluster resources of a job of this kind on the {model} wildcard's model: mem_mb and runtime grow with its
    parameter count (resources.<kind>.mem_mb_per_billion / runtime_per_billion)."""

    per_model = {model: job_resources(config["resources"][kind], n) for model, n in MODEL_PARAMETERS.items()}

    def resource(key):
        return lambda wildcards: per_model[wildcards.model][key]

    return {key: resource(key) for key in job_resources(config["resources"][kind])}


def metric_entries():
    """Per evaluated model: its table keys, its checkpoint name, and its run's result files its metrics row is
    read from."""
    entries = []
    for c in evaluated_models():
        prefix = f"results/eval/{c['model']}/{c['run']}"
        downstream = {
            task: {s: f"results/downstream/{c['model']}/{c['run']}/{task}_seed{s}.json" for s in DOWNSTREAM_SEEDS}
            for task in TASKS
        }
        entries.append(
            {k: v for k, v in c.items() if k != "run"}
            | {b.prefix: f"{prefix}/{b.name}.json" if b in ENABLED_BENCHMARKS else None for b in BENCHMARKS.values()}
            | {"downstream": downstream}
        )
    return entries


def metric_files():
    """Every run result file the tables read (each once, though it holds several checkpoints)."""
    keys = [b.prefix for b in ENABLED_BENCHMARKS]
    files = []
    for e in metric_entries():
        files += [e[k] for k in keys if e[k]] + [p for seeds in e["downstream"].values() for p in seeds.values()]
    return list(dict.fromkeys(files))


# ---- docs_results (workflow/rules/docs.smk) ----


def model_family(name):
    """How the findings table and figures name a model: scratch models by their kind of LM, a GGUF file (a
    causal LM, dequantised) by that, others by their path."""
    if name in SCRATCH_MODELS:
        return f"{name} ({'causal' if SCRATCH_ARCHITECTURES[name] == 'llama' else 'masked'} LM)"
    if MODEL_GGUF[name]:
        return f"{name} (causal LM, dequantised GGUF)"
    return f"{name} ({MODELS[name]})"


# ---- rule all ----

# the figures this run draws (the diagnostics' when the diagnostics benchmark runs, the pretraining curves when a
# base is pretrained here), in the figure registry's order
FIGURE_NAMES = drawn_figures(config)


def final_outputs():
    """The default target's inputs: the metrics tables, the statistics and the figures (called after every rule
    is defined)."""
    return [
        rules.metrics_table.output,
        rules.correlations.output,
        expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=["png", "pdf", "json"]),
    ]
