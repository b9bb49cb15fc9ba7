# Base models given as "scratch": a small BERT (WordPiece tokenizer + BertForMaskedLM) pretrained on
# the configured corpus, so the whole DAG runs offline.


rule pretrain_scratch:
    input:
        corpus=expand("resources/corpus/{corpus}.jsonl", corpus=config["corpus"]),
    output:
        model=directory("results/models/{model}/base"),
        metrics="results/models/{model}/pretrain_metrics.json",
    params:
        scratch=config["scratch"],
    wildcard_constraints:
        model=alternatives(SCRATCH_MODELS),
    threads: 2
    resources:
        **resources_for("pretrain"),
    log:
        "results/logs/pretrain_scratch/{model}.log",
    benchmark:
        "results/benchmarks/pretrain_scratch/{model}.tsv"
    conda:
        ENV
    script:
        "../scripts/pretrain_scratch.py"
