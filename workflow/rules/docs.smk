# docs/results/: the evidence of one run in the repository (issue 15). Not part of `all`: run it on purpose,
#   snakemake docs_results --cores 2 --configfile config/offline.yaml config/reproduce.yaml
# It writes the findings table (docs/results/findings.{csv,md}: an estimate, 95% CI, n and verdict per finding
# and model), the metrics table it was computed from (so findings can be recomputed without results/), the base
# models' targets, the figures with their captions, the run's provenance (commit, config hash) and the README's
# findings block (between <!-- findings:start --> and <!-- findings:end -->).

DOCS = config["docs_results"]
DOCS_DIR = DOCS["out_dir"]
# every run writes its own directory; the one above it indexes them all (findings.csv of every run, README block)
DOCS_INDEX = str(Path(DOCS_DIR).parent)
DOCS_FIGURES = [f"results/figures/{name}.png" for name in FIGURE_NAMES]
# the base models' GLUE targets are measured on every task of docs_results.base_tasks, not only downstream.tasks
BASE_GLUE_KEYS = [(model, task) for model in MODELS for task in DOCS["base_tasks"]]


localrules:
    docs_results,


rule docs_results:
    input:
        metrics=rules.metrics_table.output.parquet,
        figures=DOCS_FIGURES,
        figure_json=[f.replace(".png", ".json") for f in DOCS_FIGURES],
        pretrain=expand("results/models/{model}/pretrain_metrics.json", model=SCRATCH_MODELS),
        base_glue=[f"results/downstream/{m}/base/{t}_seed{DOWNSTREAM_SEEDS[0]}.json" for m, t in BASE_GLUE_KEYS],
        glue_train=[f"resources/glue/{t}/train.jsonl" for _, t in BASE_GLUE_KEYS],
        glue_dev=[f"resources/glue/{t}/dev.jsonl" for _, t in BASE_GLUE_KEYS],
    output:
        findings=f"{DOCS_DIR}/findings.csv",
        findings_md=f"{DOCS_DIR}/findings.md",
        metrics=f"{DOCS_DIR}/metrics.csv",
        base_loss=f"{DOCS_DIR}/base_models.csv",
        base_glue=f"{DOCS_DIR}/base_glue.csv",
        provenance=f"{DOCS_DIR}/provenance.json",
        readme=f"{DOCS_DIR}/README.md",
        figures=[f"{DOCS_DIR}/{Path(f).name}" for f in DOCS_FIGURES],
        index=f"{DOCS_INDEX}/findings.csv",
        index_md=f"{DOCS_INDEX}/findings.md",
        index_readme=f"{DOCS_INDEX}/README.md",
    log:
        "results/logs/docs_results.log",
    conda:
        ENVS["analysis"]
    params:
        families={name: model_family(name) for name in MODELS},
        scratch_models=SCRATCH_MODELS,
        base_glue_keys=BASE_GLUE_KEYS,
        dev_size=config["downstream"]["dev_size"],
        remedies={key: config["figures"]["remedies"][key] for key in ("size", "reference")},
        roles=METHOD_ROLES,
        size_figure=config["figures"]["stereotype_vs_size"],
        inference=config["findings"],
        targets=DOCS["targets"],
        config_hash=hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest(),
        configfiles=[str(f) for f in getattr(getattr(workflow, "config_settings", None), "configfiles", None) or []],
        repo=workflow.basedir,
    script:
        "../scripts/docs_results.py"
