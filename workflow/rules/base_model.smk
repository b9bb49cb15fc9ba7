# Base models given as "scratch": a small BERT (WordPiece + BertForMaskedLM) or Llama (byte-level BPE +
# LlamaForCausalLM, `architecture: llama`) pretrained on the configured corpus, so the whole DAG runs offline.


rule train_tokenizer:
    input:
        corpus=corpus_files(),
    output:
        directory("results/models/{model}/tokenizer"),
    log:
        "results/logs/train_tokenizer/{model}.log",
    benchmark:
        "results/timings/train_tokenizer/{model}.tsv"
    wildcard_constraints:
        model=alternatives(SCRATCH_MODELS),
    conda:
        ENVS["torch"]
    resources:
        **resources_for("default"),
    params:
        scratch=lambda wildcards: {
            k: SCRATCH_SETTINGS[wildcards.model][k]
            for k in ("vocab_size", "max_length", "seed", "heldout_fraction", "max_corpus_rows")
        },
        architecture=lambda wildcards: SCRATCH_ARCHITECTURES[wildcards.model],
    script:
        "../scripts/train_tokenizer.py"


rule pretrain_scratch:
    input:
        corpus=corpus_files(),
        tokenizer="results/models/{model}/tokenizer",
    output:
        model=directory("results/models/{model}/base"),
        metrics="results/models/{model}/pretrain_metrics.json",
        curve="results/models/{model}/pretrain_curve.csv",
    log:
        "results/logs/pretrain_scratch/{model}.log",
    benchmark:
        "results/timings/pretrain_scratch/{model}.tsv"
    wildcard_constraints:
        model=alternatives(SCRATCH_MODELS),
    conda:
        ENVS["torch"]
    threads: threads_for("pretrain")
    resources:
        **model_resources("pretrain"),
    params:
        scratch=lambda wildcards: SCRATCH_SETTINGS[wildcards.model],
        architecture=lambda wildcards: SCRATCH_ARCHITECTURES[wildcards.model],
    script:
        "../scripts/pretrain_scratch.py"
