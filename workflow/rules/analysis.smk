# One row per evaluated model, then forgetting-vs-downstream correlations.


rule metrics_table:
    input:
        metric_files(),
    output:
        "results/tables/metrics.csv",
    params:
        entries=metric_entries(),
    resources:
        **resources_for("default"),
    log:
        "results/logs/metrics_table.log",
    benchmark:
        "results/benchmarks/metrics_table.tsv"
    conda:
        ENV
    script:
        "../scripts/metrics_table.py"


rule correlations:
    input:
        "results/tables/metrics.csv",
    output:
        "results/tables/correlations.csv",
    params:
        x="forgetting",
        ys=[f"{task}_accuracy" for task in TASKS],
    resources:
        **resources_for("default"),
    log:
        "results/logs/correlations.log",
    benchmark:
        "results/benchmarks/correlations.tsv"
    conda:
        ENV
    script:
        "../scripts/correlations.py"
