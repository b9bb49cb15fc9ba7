# Continued MLM training of the base model on one CDA subset; a save_pretrained directory per saved step.


rule finetune:
    input:
        base=lambda wildcards: base_model_dir(wildcards.model),
        data="results/cda/size{size}.jsonl",
    output:
        [directory(f"results/models/{{model}}/{{method}}/size{{size}}/seed{{seed}}/step{step}") for step in STEPS],
    params:
        finetune=config["finetune"],
        mode=config["cda"]["mode"],
        steps=STEPS,
    threads: 2
    resources:
        **resources_for("finetune"),
    log:
        "results/logs/finetune/{model}/{method}/size{size}/seed{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{model}/{method}/size{size}/seed{seed}.tsv"
    conda:
        ENV
    script:
        "../scripts/finetune.py"
