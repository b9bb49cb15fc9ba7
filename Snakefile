# fairforget: CDA data -> fine-tuning checkpoints -> per-checkpoint evaluation -> tables and statistics -> figures.
# Run:  snakemake --cores 8            (config.yaml, data and models from the HuggingFace Hub)
#       snakemake --cores 2 --configfile config/offline.yaml   (local mirror, scratch-pretrained model)
#       snakemake --report results/report.html [same --configfile]  (figures, tables, captions, config)
from snakemake.utils import min_version

min_version("9.27")  # the version CI tests (requirements.txt)


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/base_model.smk"
include: "workflow/rules/cda.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/downstream.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/docs.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
