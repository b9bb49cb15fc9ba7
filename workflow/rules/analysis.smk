# One row per evaluated model, then forgetting-vs-downstream correlations.


def metric_entries():
    entries = []
    for c in checkpoints():
        prefix = f"results/eval/{c['model']}/{c['ckpt']}"
        downstream = {
            task: f"results/downstream/{c['model']}/{c['ckpt']}/{task}_seed{c['seed']}.json" for task in TASKS
        }
        entries.append({k: v for k, v in c.items() if k != "ckpt"} | dict(
            crows=f"{prefix}/crows_pairs.json", lm=f"{prefix}/lm_loss.json", downstream=downstream
        ))
    return entries


def metric_files():
    return [p for e in metric_entries() for p in (e["crows"], e["lm"], *e["downstream"].values())]


rule metrics_table:
    input:
        metric_files(),
    output:
        "results/tables/metrics.csv",
    params:
        entries=metric_entries(),
    log:
        "results/logs/metrics_table.log",
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
    log:
        "results/logs/correlations.log",
    conda:
        ENV
    script:
        "../scripts/correlations.py"
