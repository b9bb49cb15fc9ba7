# Downstream probe: fine-tune each checkpoint (and the base model) on a GLUE task, report dev accuracy.


rule downstream:
    input:
        model=model_dir,
        train="resources/glue/{task}/train.jsonl",
        dev="resources/glue/{task}/dev.jsonl",
    output:
        "results/downstream/{model}/{ckpt}/{task}_seed{dseed}.json",
    params:
        train_size=config["downstream"]["train_size"],
        epochs=config["downstream"]["epochs"],
        learning_rate=config["downstream"]["learning_rate"],
        batch_size=config["downstream"]["batch_size"],
        max_length=config["downstream"]["max_length"],
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
