# Downstream probe: fine-tune each checkpoint (and the base model) on each GLUE task with each downstream
# seed; one job per (run, task, seed) probes all the run's checkpoints, so a new task or seed schedules only its jobs.


rule downstream:
    input:
        models=run_model_dirs,
        train="resources/glue/{task}/train.jsonl",
        dev="resources/glue/{task}/dev.jsonl",
    output:
        "results/downstream/{model}/{run}/{task}_seed{dseed}.json",
    log:
        "results/logs/downstream/{model}/{run}/{task}_seed{dseed}.log",
    benchmark:
        "results/timings/downstream/{model}/{run}/{task}_seed{dseed}.tsv"
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("downstream")
    resources:
        **model_resources("downstream"),
    params:
        checkpoints=run_checkpoint_names,
        settings=lambda wildcards: downstream_settings(wildcards.task),
    script:
        "../scripts/downstream.py"
