# The metrics tables (one row per evaluated model; one row per value) and the statistics behind the
# paper's claims: correlations, partial correlation and regression of downstream scores.

DOWNSTREAM_SCORES = [f"{task}_score" for task in TASKS] + (["downstream_avg"] if len(TASKS) > 1 else [])


# seconds of pandas / scipy on small tables: on a cluster they run on the submit host, not through the queue
localrules:
    metrics_table,
    correlations,


rule metrics_table:
    input:
        metric_files(),
    output:
        csv=report(
            "results/tables/metrics.csv",
            caption="../report/metrics_table.rst",
            category="Tables",
            labels={"table": "metrics (wide)"},
        ),
        parquet="results/tables/metrics.parquet",
        long_csv="results/tables/metrics_long.csv",
        long_parquet="results/tables/metrics_long.parquet",
    log:
        "results/logs/metrics_table.log",
    benchmark:
        "results/timings/metrics_table.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        entries=metric_entries(),
    script:
        "../scripts/metrics_table.py"


rule correlations:
    input:
        rules.metrics_table.output.parquet,
    output:
        report(
            "results/tables/correlations.csv",
            caption="../report/correlations.rst",
            category="Tables",
            labels={"table": "correlations"},
        ),
        report(
            "results/tables/partial_correlations.csv",
            caption="../report/partial_correlations.rst",
            category="Tables",
            labels={"table": "partial correlations"},
        ),
        report(
            "results/tables/regression.csv",
            caption="../report/regression.rst",
            category="Tables",
            labels={"table": "regression"},
        ),
    log:
        "results/logs/correlations.log",
    benchmark:
        "results/timings/correlations.tsv"
    conda:
        ENVS["analysis"]
    resources:
        **resources_for("default"),
    params:
        ys=DOWNSTREAM_SCORES,
        analysis=config["analysis"],
    script:
        "../scripts/correlations.py"
