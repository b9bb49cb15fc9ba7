# The figures: one rule over the {figure} wildcard, a job per figure of the figure registry (fairforget.figures),
# reading its inputs (the metrics table, or the pretraining curves), its own config block (figures.<name>) and what
# its entry says it shares with other blocks, so changing one block reruns that figure alone. Outputs: PNG (in the
# report), PDF, and the figure's numbers with its caption (JSON), which the report shows under the PNG.


# seconds of matplotlib each: on a cluster they run on the submit host, not through the queue
localrules:
    figure,


rule figure:
    input:
        unpack(lambda wildcards: FIGURES[wildcards.figure].inputs(config)),
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wildcards: {"figure": FIGURES[wildcards.figure].label},
        ),
        "results/figures/{figure}.pdf",
        "results/figures/{figure}.json",
    log:
        "results/logs/figure_{figure}.log",
    benchmark:
        "results/timings/figure_{figure}.tsv"
    wildcard_constraints:
        figure=alternatives(FIGURE_NAMES),
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        shared=lambda wildcards: FIGURES[wildcards.figure].shared(config, {"method_roles": METHOD_ROLES}),
        # the caption the job wrote, for the report (a param derived from the output: never a rerun trigger)
        caption=lambda wildcards, output: report_caption(output[2]),
    script:
        "../scripts/figure.py"
