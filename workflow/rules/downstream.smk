# Downstream probe: fine-tune each checkpoint (and the base model) on each GLUE task with each downstream
# seed; one job per (checkpoint, task, seed), so a new task or seed schedules only its own jobs.


rule downstream:
    input:
        model=model_dir,
        train="resources/glue/{task}/train.jsonl",
        dev="resources/glue/{task}/dev.jsonl",
    output:
        "results/downstream/{model}/{ckpt}/{task}_seed{dseed}.json",
    params:
        settings=lambda wildcards: downstream_settings(wildcards.task),
    threads: threads_for("downstream")
    resources:
        **resources_for("downstream"),
    log:
        "results/logs/downstream/{model}/{ckpt}/{task}_seed{dseed}.log",
    benchmark:
        "results/benchmarks/downstream/{model}/{ckpt}/{task}_seed{dseed}.tsv"
    conda:
        ENV
    script:
        "../scripts/downstream.py"
