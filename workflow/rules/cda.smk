# The corpus split into training text and an in-domain held-out slice; counterfactual data augmentation: every
# training sentence with a listed word and its counterfactual (once), then one nested subset per configured size and draw
# (one draw, cda.seed, unless cda.draw_per_seed gives each training seed its own).


rule split_corpus:
    input:
        corpus=corpus_sources(),
    output:
        train=corpus_files(),
        heldout=CORPUS_HELDOUT,
    log:
        "results/logs/split_corpus.log",
    benchmark:
        "results/timings/split_corpus.tsv"
    conda:
        ENVS["torch"]
    resources:
        **resources_for("default"),
    params:
        fraction=config["corpus_heldout_fraction"],
    script:
        "../scripts/split_corpus.py"


rule cda_candidates:
    input:
        corpus=corpus_files(),
        words=[path for _, files in word_list_files() for path in files],
    output:
        candidates="results/cda/candidates.jsonl",
        stats="results/cda/candidates_stats.json",
    log:
        "results/logs/cda_candidates.log",
    benchmark:
        "results/timings/cda_candidates.tsv"
    conda:
        ENVS["torch"]
    resources:
        **resources_for("default"),
    params:
        word_lists=word_list_files(),
        bias_bench_quirks=config["cda"]["bias_bench_quirks"],
        min_words=config["cda"]["min_words"],
        max_words=config["cda"]["max_words"],
    script:
        "../scripts/cda_candidates.py"


rule cda_subset:
    input:
        "results/cda/candidates.jsonl",
    output:
        subset="results/cda/draw{draw}/size{size}.jsonl",
        stats="results/cda/draw{draw}/size{size}_stats.json",
    log:
        "results/logs/cda_subset/draw{draw}/size{size}.log",
    benchmark:
        "results/timings/cda_subset/draw{draw}/size{size}.tsv"
    conda:
        ENVS["torch"]
    resources:
        **resources_for("default"),
    params:
        seed=lambda wildcards: int(wildcards.draw),  # the shuffle seed (common.smk: cda_draw)
        augment_fraction=config["cda"]["augment_fraction"],
    script:
        "../scripts/cda_subset.py"
