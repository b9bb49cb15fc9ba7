# Fine-tuning: each trained method (CDA, dropout debiasing, remedies on top of CDA) on one CDA subset,
# a save_pretrained directory per checkpoint; the stand-alone methods' checkpoints (fairforget.methods).


rule general_text:
    input:
        corpus=corpus_files(),
    output:
        "results/general/texts.jsonl",
    log:
        "results/logs/general_text.log",
    benchmark:
        "results/timings/general_text.tsv"
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
        "results/timings/ewc_fisher/{model}.tsv"
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
        "results/timings/finetune/{model}/{method}/size{size}/seed{seed}.tsv"
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
        checkpoints=CHECKPOINTS,  # step<N> (budget: steps) or frac<f> (epochs, tokens), see fairforget.budget
        # Trainer checkpoints for resuming a killed run; kept outside the outputs, removed on success
        state_dir=lambda wildcards: (
            f"results/train_state/{wildcards.model}/{wildcards.method}/size{wildcards.size}/seed{wildcards.seed}"
        ),
    script:
        "../scripts/finetune.py"


# Each stand-alone method (WiSE-FT, the projection debiasers: methods that do not fine-tune) has a rule of its own,
# named after it: one job per run writes the run's checkpoints, from the inputs its registry entry declares.
for standalone in STANDALONE_METHODS:
    entry = standalone_entry(METHOD_SPECS[standalone])
    run_dir = f"results/models/{{model}}/{standalone}/{entry.run_pattern}"

    rule:
        name:
            f"method_{standalone}"
        input:
            unpack(standalone_inputs(standalone)),
        output:
            checkpoints=[directory(f"{run_dir}/{name}") for name in METHOD_CHECKPOINTS[standalone]],
            metrics=f"{run_dir}/method_metrics.json",
        log:
            f"results/logs/{standalone}/{{model}}/{entry.run_pattern}.log",
        benchmark:
            f"results/timings/{standalone}/{{model}}/{entry.run_pattern}.tsv"
        conda:
            ENVS["torch"]
        threads: threads_for("finetune")
        resources:
            **model_resources("finetune"),
        params:
            method=standalone,
            spec=training_settings(METHOD_SPECS[standalone]),
            checkpoints=METHOD_CHECKPOINTS[standalone],
        script:
            "../scripts/standalone_method.py"
