# Evaluation of every checkpoint of every run: one job per (run, benchmark) scores all the run's checkpoints
# ({run} = "base", or method/size/seed: its saved steps or WiSE-FT alphas). Masked and causal LMs alike.


rule crows_pairs:
    input:
        models=run_model_dirs,
        data="resources/crows_pairs.csv",
    output:
        "results/eval/{model}/{run}/crows_pairs.json",
    log:
        "results/logs/crows_pairs/{model}/{run}.log",
    benchmark:
        "results/benchmarks/crows_pairs/{model}/{run}.tsv"
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("evaluate")
    resources:
        **model_resources("evaluate"),
    params:
        checkpoints=run_checkpoint_names,
        bias_type=config["evaluation"]["crows_pairs"]["bias_type"],
        max_pairs=config["evaluation"]["crows_pairs"]["max_pairs"],
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../scripts/crows_pairs.py"


rule stereoset:
    input:
        models=run_model_dirs,
        data="resources/stereoset.json",
    output:
        "results/eval/{model}/{run}/stereoset.json",
    log:
        "results/logs/stereoset/{model}/{run}.log",
    benchmark:
        "results/benchmarks/stereoset/{model}/{run}.tsv"
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("evaluate")
    resources:
        **model_resources("evaluate"),
    params:
        checkpoints=run_checkpoint_names,
        bias_type=config["evaluation"]["stereoset"]["bias_type"],
        split=config["evaluation"]["stereoset"]["split"],
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../scripts/stereoset.py"


rule seat:
    input:
        models=run_model_dirs,
        tests=expand("resources/seat/{test}.jsonl", test=config["evaluation"]["seat"]["tests"]),
    output:
        "results/eval/{model}/{run}/seat.json",
    log:
        "results/logs/seat/{model}/{run}.log",
    benchmark:
        "results/benchmarks/seat/{model}/{run}.tsv"
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("evaluate")
    resources:
        **model_resources("evaluate"),
    params:
        checkpoints=run_checkpoint_names,
        tests=config["evaluation"]["seat"]["tests"],
        pooling=config["evaluation"]["seat"]["pooling"],
        n_samples=config["evaluation"]["seat"]["n_samples"],
        seed=config["evaluation"]["seat"]["seed"],
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../scripts/seat.py"


rule lm_loss:
    input:
        models=run_model_dirs,
        base=kl_base_input,
        data="resources/wikitext103_test.jsonl",
    output:
        "results/eval/{model}/{run}/lm_loss.json",
    log:
        "results/logs/lm_loss/{model}/{run}.log",
    benchmark:
        "results/benchmarks/lm_loss/{model}/{run}.tsv"
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("evaluate")
    resources:
        **model_resources("evaluate"),
    params:
        checkpoints=run_checkpoint_names,
        max_tokens=config["evaluation"]["forgetting"]["max_tokens"],
        max_length=config["evaluation"]["forgetting"]["max_length"],
        stride=config["evaluation"]["forgetting"]["stride"],
        kl=config["evaluation"]["forgetting"]["kl"],
        batch_size=config["evaluation"]["batch_size"],
        dataset="wikitext-103 test",
    script:
        "../scripts/lm_loss.py"


# The same on the corpus' in-domain held-out slice (text no training step saw): overall forgetting in the
# domain CDA was drawn from, next to WikiText.
use rule lm_loss as lm_loss_indomain with:
    input:
        models=run_model_dirs,
        base=kl_base_input,
        data=CORPUS_HELDOUT,
    output:
        "results/eval/{model}/{run}/lm_loss_indomain.json",
    log:
        "results/logs/lm_loss_indomain/{model}/{run}.log",
    benchmark:
        "results/benchmarks/lm_loss_indomain/{model}/{run}.tsv"
    params:
        dataset="in-domain held-out corpus",
