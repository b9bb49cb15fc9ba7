# Paper figures, each from the tables only (changing a figure option reruns just that figure).

FIGURES = expand("results/figures/downstream_vs_forgetting.{ext}", ext=["png", "pdf"])


rule figure_downstream_vs_forgetting:
    input:
        "results/tables/metrics.csv",
    output:
        FIGURES,
    params:
        figure=config["figures"]["downstream_vs_forgetting"],
    resources:
        **resources_for("default"),
    log:
        "results/logs/figure_downstream_vs_forgetting.log",
    benchmark:
        "results/benchmarks/figure_downstream_vs_forgetting.tsv"
    conda:
        ENV
    script:
        "../scripts/figure_downstream_vs_forgetting.py"
