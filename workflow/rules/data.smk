# Inputs: read from the HuggingFace Hub (data_dir: null; HF_ENDPOINT may name a Hub mirror) at the commits
# hub_datasets / downloads / models[].revision pin, or from a local mirror (data_dir), normalised under resources/.
# Local rules: under Slurm they run on the head node, which has the network. Each rule gets only its own source.


localrules:
    fetch_corpus,
    fetch_wikitext_test,
    fetch_crows_pairs,
    fetch_stereoset,
    fetch_seat_test,
    fetch_word_lists,
    fetch_winobias_swaps,
    fetch_glue,
    fetch_base_model,


rule fetch_corpus:
    output:
        "resources/corpus/{corpus}.jsonl",
    log:
        "results/logs/fetch_corpus/{corpus}.log",
    conda:
        ENVS["torch"]
    params:
        data_dir=config["data_dir"],
        source=lambda wildcards: corpus_hub_source(wildcards.corpus),
        max_rows=config["corpus_max_rows"],
    script:
        "../scripts/fetch_data.py"


# Every fetch rule is fetch_corpus with its own output, log and source: scripts/fetch_data.py dispatches on the
# rule's name.
use rule fetch_corpus as fetch_wikitext_test with:
    output:
        "resources/wikitext103_test.jsonl",
    log:
        "results/logs/fetch_wikitext_test.log",
    params:
        data_dir=config["data_dir"],
        source=hub_source("wikitext"),


use rule fetch_corpus as fetch_crows_pairs with:
    output:
        "resources/crows_pairs.csv",
    log:
        "results/logs/fetch_crows_pairs.log",
    params:
        data_dir=config["data_dir"],
        source=download_source(),


use rule fetch_corpus as fetch_stereoset with:
    output:
        "resources/stereoset.json",
    log:
        "results/logs/fetch_stereoset.log",
    params:
        data_dir=config["data_dir"],
        source=hub_source("stereoset"),


use rule fetch_corpus as fetch_seat_test with:
    output:
        "resources/seat/{test}.jsonl",
    log:
        "results/logs/fetch_seat_test/{test}.log",
    params:
        data_dir=config["data_dir"],
        source=download_source(),


use rule fetch_corpus as fetch_word_lists with:
    output:
        "resources/bias_attribute_words.json",
    log:
        "results/logs/fetch_word_lists.log",
    params:
        data_dir=config["data_dir"],
        source=download_source(),


use rule fetch_corpus as fetch_winobias_swaps with:
    output:
        "resources/winobias/{name}.txt",
    log:
        "results/logs/fetch_winobias_swaps/{name}.log",
    wildcard_constraints:
        name="generalized_swaps|extra_gendered_words",
    params:
        data_dir=config["data_dir"],
        source=download_source(),


use rule fetch_corpus as fetch_glue with:
    output:
        "resources/glue/{task}/{split}.jsonl",
    log:
        "results/logs/fetch_glue/{task}_{split}.log",
    wildcard_constraints:
        task=alternatives(GLUE_TASKS),
        split="train|dev",
    params:
        data_dir=config["data_dir"],
        source=hub_source("glue"),


rule fetch_base_model:
    output:
        directory("resources/models/{model}"),
    log:
        "results/logs/fetch_base_model/{model}.log",
    wildcard_constraints:
        model=alternatives(HUB_MODELS),
    conda:
        ENVS["torch"]
    params:
        hub_id=lambda wildcards: MODELS[wildcards.model],
        revision=lambda wildcards: MODEL_REVISIONS[wildcards.model],
        gguf=lambda wildcards: MODEL_GGUF[wildcards.model],
    script:
        "../scripts/fetch_model.py"
