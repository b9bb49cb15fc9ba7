# Per-checkpoint evaluation of every fine-tuned checkpoint and of the base model ({ckpt} = "base").
# Masked and causal LMs alike: each script detects the model kind from its saved config.


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
    threads: threads_for("evaluate")
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


rule stereoset:
    input:
        model=model_dir,
        data="resources/stereoset.json",
    output:
        "results/eval/{model}/{ckpt}/stereoset.json",
    params:
        bias_type=config["evaluation"]["stereoset"]["bias_type"],
        split=config["evaluation"]["stereoset"]["split"],
        batch_size=config["evaluation"]["batch_size"],
    threads: threads_for("evaluate")
    resources:
        **resources_for("evaluate"),
    log:
        "results/logs/stereoset/{model}/{ckpt}.log",
    benchmark:
        "results/benchmarks/stereoset/{model}/{ckpt}.tsv"
    conda:
        ENV
    script:
        "../scripts/stereoset.py"


rule seat:
    input:
        model=model_dir,
        tests=expand("resources/seat/{test}.jsonl", test=config["evaluation"]["seat"]["tests"]),
    output:
        "results/eval/{model}/{ckpt}/seat.json",
    params:
        tests=config["evaluation"]["seat"]["tests"],
        pooling=config["evaluation"]["seat"]["pooling"],
        n_samples=config["evaluation"]["seat"]["n_samples"],
        seed=config["evaluation"]["seat"]["seed"],
        batch_size=config["evaluation"]["batch_size"],
    threads: threads_for("evaluate")
    resources:
        **resources_for("evaluate"),
    log:
        "results/logs/seat/{model}/{ckpt}.log",
    benchmark:
        "results/benchmarks/seat/{model}/{ckpt}.tsv"
    conda:
        ENV
    script:
        "../scripts/seat.py"


rule lm_loss:
    input:
        model=model_dir,
        base=kl_base_input,
        data="resources/wikitext103_test.jsonl",
    output:
        "results/eval/{model}/{ckpt}/lm_loss.json",
    params:
        max_tokens=config["evaluation"]["forgetting"]["max_tokens"],
        max_length=config["evaluation"]["forgetting"]["max_length"],
        stride=config["evaluation"]["forgetting"]["stride"],
        kl=config["evaluation"]["forgetting"]["kl"],
        batch_size=config["evaluation"]["batch_size"],
    threads: threads_for("evaluate")
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
