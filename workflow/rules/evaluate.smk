# Evaluation of every checkpoint of every run: one job per (run, benchmark) scores all the run's checkpoints
# ({run} = "base", or method/size/seed: its saved steps or WiSE-FT alphas). Masked and causal LMs alike. The
# benchmarks, their data and their settings are declared in the registry (fairforget.benchmarks).


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        "results/eval/{model}/{run}/{benchmark}.json",
    log:
        "results/logs/{benchmark}/{model}/{run}.log",
    benchmark:
        "results/timings/{benchmark}/{model}/{run}.tsv"
    wildcard_constraints:
        benchmark="|".join(BENCHMARKS),
    group:
        EVAL_GROUP
    conda:
        ENVS["torch"]
    threads: threads_for("evaluate")
    resources:
        **model_resources("evaluate"),
    params:
        checkpoints=run_checkpoint_names,
        settings=lambda wildcards: BENCHMARKS[wildcards.benchmark].settings_from(config["evaluation"]),
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../scripts/evaluate.py"
