# Per-checkpoint evaluation of every fine-tuned checkpoint and of the base model ({ckpt} = "base").


rule crows_pairs:
    input:
        model=model_dir,
        data="resources/crows_pairs.csv",
    output:
        "results/eval/{model}/{ckpt}/crows_pairs.json",
    params:
        bias_type=config["evaluation"]["crows_pairs"]["bias_type"],
        max_pairs=config["evaluation"]["crows_pairs"]["max_pairs"],
        batch_size=config["evaluation"]["batch_size"],
    threads: 2
    resources:
        **resources_for("evaluate"),
    log:
        "results/logs/crows_pairs/{model}/{ckpt}.log",
    benchmark:
        "results/benchmarks/crows_pairs/{model}/{ckpt}.tsv"
    conda:
        ENV
    script:
        "../scripts/crows_pairs.py"


rule lm_loss:
    input:
        model=model_dir,
        data="resources/wikitext103_test.jsonl",
    output:
        "results/eval/{model}/{ckpt}/lm_loss.json",
    params:
        max_tokens=config["evaluation"]["forgetting"]["max_tokens"],
        max_length=config["evaluation"]["forgetting"]["max_length"],
        batch_size=config["evaluation"]["batch_size"],
    threads: 2
    resources:
        **resources_for("evaluate"),
    log:
        "results/logs/lm_loss/{model}/{ckpt}.log",
    benchmark:
        "results/benchmarks/lm_loss/{model}/{ckpt}.tsv"
    conda:
        ENV
    script:
        "../scripts/lm_loss.py"
