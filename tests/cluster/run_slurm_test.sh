#!/usr/bin/env bash
# The CI-sized offline workflow through a real Slurm cluster, checked against a local run of the same config.
#
#   bash tests/cluster/run_slurm_test.sh            (root; installs Debian's Slurm 22.05 if missing)
#
# 1. runs config/offline.yaml config/ci.yaml tests/cluster/slurm_test.yaml locally (--cores 2): the reference;
# 2. brings up a single-node Slurm cluster with accounting on localhost (tests/cluster/slurm_cluster.sh);
# 3. keeps the local run's tables and figures, deletes its results but the downloads and the scratch tokenizers
#    (tokenizers' WordPiece trainer is not deterministic, huggingface/tokenizers#1794, so retraining it would
#    change every number after it), and runs the same config in the same directory with --profile profiles/slurm:
#    everything from scratch pretraining on goes through sbatch;
# 4. checks (tests/cluster/check_slurm_run.py): every cluster job has a SLURM job id and is COMPLETED in sacct,
#    per-rule --mem / -t / --cpus-per-task as configured, evaluation jobs grouped per run, tables and figure
#    numbers equal to the local run;
# 5. tears the cluster down (also on failure) and leaves nothing running.
# Needs ../shared/data (or FAIRFORGET_DATA_DIR). Takes about 45 minutes on 2 cores. WORK_DIR=dir keeps the
# runs; a rerun with the same WORK_DIR reuses the local reference run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
DATA_DIR="$(cd "${FAIRFORGET_DATA_DIR:-$REPO/../shared/data}" && pwd)"
WORK="${WORK_DIR:-$(mktemp -d /tmp/fairforget-slurm-test.XXXXXX)}"
CONFIGS=(config/offline.yaml config/ci.yaml slurm_test.yaml data_dir.yaml)
start=$(date +%s)
stamp() { echo "[slurm-test] $(( $(date +%s) - start )) s: $*"; }

copy_workflow() {
    mkdir -p "$1"
    cp -r "$REPO"/{Snakefile,config.yaml,workflow,config,profiles,envs,src} "$1"/
    cp "$REPO/tests/cluster/slurm_test.yaml" "$1"/
    echo "data_dir: $DATA_DIR" > "$1/data_dir.yaml"
}

RUN="$WORK/run"          # the workflow directory, used by both runs (Snakemake's code triggers see one path)
REFERENCE="$WORK/local"  # the local run's tables and figures

stamp "local reference run in $RUN"
if [ ! -f "$REFERENCE/results/tables/metrics.csv" ]; then
    if [ ! -f "$RUN/results/tables/metrics.csv" ]; then
        rm -rf "$RUN"
        copy_workflow "$RUN"
        (cd "$RUN" && "$PYTHON" -m snakemake --cores 2 --configfile "${CONFIGS[@]}" > local.log 2>&1) \
            || { tail -n 60 "$RUN/local.log"; exit 1; }
    fi
    mkdir -p "$REFERENCE/results"
    cp -a "$RUN/results/tables" "$RUN/results/figures" "$REFERENCE/results/"
fi

stamp "Slurm cluster up"
trap 'stamp "Slurm cluster down"; bash "$REPO/tests/cluster/slurm_cluster.sh" down' EXIT
bash "$REPO/tests/cluster/slurm_cluster.sh" up > /dev/null
source "${SLURM_TEST_DIR:-/tmp/fairforget-slurm}/env.sh"
sinfo

stamp "workflow through Slurm in $RUN, from the downloads and scratch tokenizers of the local run"
cd "$RUN"
find results -mindepth 1 -maxdepth 1 ! -name models -exec rm -rf {} +
find results/models -mindepth 2 -maxdepth 2 ! -name tokenizer -exec rm -rf {} +
# the node has 2 CPUs: --cores 2 caps the CPUs of running jobs (and of one group job); --resources mem_mb is the
# most memory one group job may ask for (the profile's 64 GB is more than this node has)
"$PYTHON" -m snakemake --profile profiles/slurm --configfile "${CONFIGS[@]}" --cores 2 --jobs 4 \
    --resources mem_mb=8000 gpu=1 --slurm-init-seconds-before-status-checks 5 --seconds-between-status-checks 5 \
    > slurm.log 2>&1 || { tail -n 80 slurm.log; exit 1; }
if grep -q "^rule \(train_tokenizer\|fetch_\)" slurm.log; then
    echo "downloads or tokenizers were redone: the results could not match the local run"; exit 1
fi

stamp "checks"
"$PYTHON" "$REPO/tests/cluster/check_slurm_run.py" "$RUN" "$REFERENCE" "${CONFIGS[@]}"
stamp "done"
