# The paper's figures, each its own rule reading only the metrics table and its own config block (figures.<name>),
# so changing one block reruns that figure alone. Outputs: PNG (in the report), PDF, and the figure's numbers (JSON).
# (Written out rule by rule: Snakemake evaluates some directives lazily, so rules made in a loop would share one.)

FIGURE_NAMES = ["downstream_vs_forgetting", "stereotype_vs_size", "remedies", "dynamics", "frontier"]
FIGURES = expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=["png", "pdf", "json"])
# the scratch base models' pretraining curves, when there are scratch models
PRETRAINING_FIGURE = expand("results/figures/pretraining.{ext}", ext=["png", "pdf", "json"]) if SCRATCH_MODELS else []


# seconds of matplotlib each: on a cluster they run on the submit host, not through the queue
localrules:
    figure_downstream_vs_forgetting,
    figure_stereotype_vs_size,
    figure_remedies,
    figure_dynamics,
    figure_frontier,
    figure_pretraining,


rule figure_downstream_vs_forgetting:
    input:
        "results/tables/metrics.parquet",
    output:
        report(
            "results/figures/downstream_vs_forgetting.png",
            caption="../report/figure_downstream_vs_forgetting.rst",
            category="Figures",
            labels={"figure": "1 downstream vs overall forgetting"},
        ),
        "results/figures/downstream_vs_forgetting.pdf",
        "results/figures/downstream_vs_forgetting.json",
    log:
        "results/logs/figure_downstream_vs_forgetting.log",
    benchmark:
        "results/benchmarks/figure_downstream_vs_forgetting.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=config["figures"]["downstream_vs_forgetting"],
    script:
        "../scripts/figure_downstream_vs_forgetting.py"


rule figure_stereotype_vs_size:
    input:
        "results/tables/metrics.parquet",
    output:
        report(
            "results/figures/stereotype_vs_size.png",
            caption="../report/figure_stereotype_vs_size.rst",
            category="Figures",
            labels={"figure": "2 stereotypes and forgetting vs CDA size"},
        ),
        "results/figures/stereotype_vs_size.pdf",
        "results/figures/stereotype_vs_size.json",
    log:
        "results/logs/figure_stereotype_vs_size.log",
    benchmark:
        "results/benchmarks/figure_stereotype_vs_size.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=config["figures"]["stereotype_vs_size"],
        budget=budget_description(config["finetune"]),  # the caption says which training budget made the sizes
    script:
        "../scripts/figure_stereotype_vs_size.py"


rule figure_remedies:
    input:
        "results/tables/metrics.parquet",
    output:
        report(
            "results/figures/remedies.png",
            caption="../report/figure_remedies.rst",
            category="Figures",
            labels={"figure": "3 remedies vs plain CDA"},
        ),
        "results/figures/remedies.pdf",
        "results/figures/remedies.json",
    log:
        "results/logs/figure_remedies.log",
    benchmark:
        "results/benchmarks/figure_remedies.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=config["figures"]["remedies"],
    script:
        "../scripts/figure_remedies.py"


rule figure_dynamics:
    input:
        "results/tables/metrics.parquet",
    output:
        report(
            "results/figures/dynamics.png",
            caption="../report/figure_dynamics.rst",
            category="Figures",
            labels={"figure": "4 training dynamics"},
        ),
        "results/figures/dynamics.pdf",
        "results/figures/dynamics.json",
    log:
        "results/logs/figure_dynamics.log",
    benchmark:
        "results/benchmarks/figure_dynamics.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=config["figures"]["dynamics"],
    script:
        "../scripts/figure_dynamics.py"


rule figure_frontier:
    input:
        "results/tables/metrics.parquet",
    output:
        report(
            "results/figures/frontier.png",
            caption="../report/figure_frontier.rst",
            category="Figures",
            labels={"figure": "5 fairness-utility frontier"},
        ),
        "results/figures/frontier.pdf",
        "results/figures/frontier.json",
    log:
        "results/logs/figure_frontier.log",
    benchmark:
        "results/benchmarks/figure_frontier.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=config["figures"]["frontier"],
    script:
        "../scripts/figure_frontier.py"


rule figure_pretraining:
    input:
        curves=expand("results/models/{model}/pretrain_curve.csv", model=SCRATCH_MODELS),
        metrics=expand("results/models/{model}/pretrain_metrics.json", model=SCRATCH_MODELS),
    output:
        report(
            "results/figures/pretraining.png",
            caption="../report/figure_pretraining.rst",
            category="Figures",
            labels={"figure": "0 base-model pretraining"},
        ),
        "results/figures/pretraining.pdf",
        "results/figures/pretraining.json",
    log:
        "results/logs/figure_pretraining.log",
    benchmark:
        "results/benchmarks/figure_pretraining.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        models=SCRATCH_MODELS,
        figure=config["figures"]["pretraining"],
    script:
        "../scripts/figure_pretraining.py"
