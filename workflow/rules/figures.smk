# The paper's figures: one rule over the {figure} wildcard, a job per figure reading only the metrics table and
# the figure's own config block (figures.<name>), so changing one block reruns that figure alone. Outputs: PNG (in
# the report), PDF, and the figure's numbers (JSON). Each figure's drawing is workflow/scripts/figure_<name>.py.

FIGURE_LABELS = {
    "downstream_vs_forgetting": "1 downstream vs overall forgetting",
    "stereotype_vs_size": "2 stereotypes and forgetting vs CDA size",
    "remedies": "3 remedies vs plain CDA",
    "dynamics": "4 training dynamics",
    "frontier": "5 fairness-utility frontier",
    "layers": "6 diagnostics: drift and CKA per layer",
    "token_shares": "7 diagnostics: forgetting by token class",
    "layer_predictors": "8 diagnostics: predictors of downstream loss",
}

# what a figure reads from other config blocks (as params of its own job only): figure 3 draws finding 3's
# estimate, so it matches bias on the findings' stereotype measure, shades the findings' SESOI and takes each
# method's role from the method registry (projection debiasers at their own size)
FIGURE_SHARED = {
    "remedies": {
        "stereotype": config["figures"]["stereotype_vs_size"]["stereotype"],
        "sesoi": config["findings"]["sesoi"],
        "roles": {name: method_role(spec) for name, spec in METHOD_SPECS.items()},
    },
}


# seconds of matplotlib each: on a cluster they run on the submit host, not through the queue
localrules:
    figure,
    figure_pretraining,


rule figure:
    input:
        rules.metrics_table.output.parquet,
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wildcards: {"figure": FIGURE_LABELS[wildcards.figure]},
        ),
        "results/figures/{figure}.pdf",
        "results/figures/{figure}.json",
    log:
        "results/logs/figure_{figure}.log",
    benchmark:
        "results/benchmarks/figure_{figure}.tsv"
    wildcard_constraints:
        figure=alternatives(FIGURE_NAMES),
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        budget=budget_description(config["finetune"]),  # captions say which training budget made the sizes
        # and what downstream and forgetting were measured on
        protocol=protocol_description(config["downstream"], config["evaluation"]["forgetting"]),
        shared=lambda wildcards: FIGURE_SHARED.get(wildcards.figure, {}),
    script:
        "../scripts/figure_{wildcards.figure}.py"


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
