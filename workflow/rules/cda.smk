# Counterfactual data augmentation: every corpus sentence with a listed word and its counterfactual
# (once), then one nested subset per configured size.


rule cda_candidates:
    input:
        corpus=expand("resources/corpus/{corpus}.jsonl", corpus=config["corpus"]),
        words="resources/bias_attribute_words.json",
    output:
        candidates="results/cda/candidates.jsonl",
        stats="results/cda/candidates_stats.json",
    params:
        word_list=config["cda"]["word_list"],
        min_words=config["cda"]["min_words"],
        max_words=config["cda"]["max_words"],
    resources:
        **resources_for("default"),
    log:
        "results/logs/cda_candidates.log",
    benchmark:
        "results/benchmarks/cda_candidates.tsv"
    conda:
        ENV
    script:
        "../scripts/cda_candidates.py"


rule cda_subset:
    input:
        "results/cda/candidates.jsonl",
    output:
        subset="results/cda/size{size}.jsonl",
        stats="results/cda/size{size}_stats.json",
    params:
        seed=config["cda"]["seed"],
    resources:
        **resources_for("default"),
    log:
        "results/logs/cda_subset/size{size}.log",
    benchmark:
        "results/benchmarks/cda_subset/size{size}.tsv"
    conda:
        ENV
    script:
        "../scripts/cda_subset.py"
