# Fine-tuning: each trained method (CDA, dropout debiasing, remedies on top of CDA) on one CDA subset,
# a save_pretrained directory per checkpoint; WiSE-FT interpolations of a trained method's final checkpoint.


rule general_text:
    input:
        corpus=corpus_files(),
    output:
        "results/general/texts.jsonl",
    log:
        "results/logs/general_text.log",
    benchmark:
        "results/benchmarks/general_text.tsv"
    conda:
        ENVS["torch"]
    resources:
        **resources_for("default"),
    params:
        general=config["general_text"],
    script:
        "../scripts/general_text.py"


rule ewc_fisher:
    input:
        base=lambda wildcards: base_model_dir(wildcards.model),
        general="results/general/texts.jsonl",
    output:
        "results/models/{model}/fisher.safetensors",
    log:
        "results/logs/ewc_fisher/{model}.log",
    benchmark:
        "results/benchmarks/ewc_fisher/{model}.tsv"
    conda:
        ENVS["torch"]
    threads: threads_for("finetune")
    resources:
        **model_resources("finetune"),
    params:
        fisher=config["fisher"],
        max_length=config["finetune"]["max_length"],
        mlm_probability=config["finetune"]["mlm_probability"],
    script:
        "../scripts/ewc_fisher.py"


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        checkpoints=[
            directory(f"results/models/{{model}}/{{method}}/size{{size}}/seed{{seed}}/{name}") for name in CHECKPOINTS
        ],
        metrics="results/models/{model}/{method}/size{size}/seed{seed}/train_metrics.json",
    log:
        "results/logs/finetune/{model}/{method}/size{size}/seed{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{model}/{method}/size{size}/seed{seed}.tsv"
    wildcard_constraints:
        method=alternatives(TRAINED_METHODS),
    conda:
        ENVS["torch"]
    threads: threads_for("finetune")
    resources:
        **model_resources("finetune"),
    params:
        method=lambda wildcards: training_settings(METHOD_SPECS[wildcards.method]),
        # the keys of the budget unit in use only: changing another unit's value reruns nothing
        finetune=budget_settings(config["finetune"]),
        checkpoints=CHECKPOINTS,  # step<N> (budget: steps) or frac<f> (epochs, tokens), see method_config
        # Trainer checkpoints for resuming a killed run; kept outside the outputs, removed on success
        state_dir=lambda wildcards: (
            f"results/train_state/{wildcards.model}/{wildcards.method}/size{wildcards.size}/seed{wildcards.seed}"
        ),
    script:
        "../scripts/finetune.py"


rule wise_ft:
    input:
        base=lambda wildcards: base_model_dir(wildcards.model),
        tuned=lambda wildcards: (
            f"results/models/{wildcards.model}/{WISE_SOURCES[wildcards.method]}/"
            f"size{wildcards.size}/seed{wildcards.seed}/{FINAL_CHECKPOINT}"
        ),
    output:
        directory("results/models/{model}/{method}/size{size}/seed{seed}/alpha{alpha}"),
    log:
        "results/logs/wise_ft/{model}/{method}/size{size}/seed{seed}/alpha{alpha}.log",
    benchmark:
        "results/benchmarks/wise_ft/{model}/{method}/size{size}/seed{seed}/alpha{alpha}.tsv"
    wildcard_constraints:
        method=alternatives(list(WISE_SOURCES)),
    conda:
        ENVS["torch"]
    resources:
        **model_resources("default"),
    params:
        alpha=lambda wildcards: float(wildcards.alpha),
    script:
        "../scripts/wise_ft.py"
