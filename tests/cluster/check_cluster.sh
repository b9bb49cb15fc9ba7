#!/usr/bin/env bash
# Smoke check for the private test cluster started by slurm_cluster.sh up.
#   tests/cluster/check_cluster.sh        (or: slurm_cluster.sh selftest)
# Exits non-zero on the first failed check.
set -euo pipefail

DIR="${SLURM_TEST_DIR:-/tmp/fairforget-slurm}"
DIR="${DIR%/}"
[[ -f "$DIR/env.sh" ]] || { echo "[slurm] ERROR: $DIR/env.sh missing - run slurm_cluster.sh up first" >&2; exit 1; }
# shellcheck disable=SC1091
source "$DIR/env.sh"
export PATH="$PATH:/usr/sbin:/sbin"
WORK="$DIR/selftest"
mkdir -p "$WORK"
cd "$WORK"
TIMEOUT="${SLURM_TEST_TIMEOUT:-90}"

log() { echo "[slurm] $*" >&2; }
fail() { echo "[slurm] SELFTEST FAILED: $*" >&2; exit 1; }
pass() { echo "[slurm] ok: $*" >&2; }

# wait until sacct reports a final state for the job allocation; print it
wait_job() {
  local id="$1" end=$((SECONDS + TIMEOUT)) st=""
  while ((SECONDS < end)); do
    if [[ -z "$(squeue -h -j "$id" -o %i 2>/dev/null)" ]]; then
      st="$(sacct -j "$id" -X -P -n --format State 2>/dev/null | head -n1 || true)"
      case "$st" in
        COMPLETED|FAILED|CANCELLED*|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)
          echo "$st"; return 0 ;;
      esac
    fi
    sleep 1
  done
  echo "TIMEOUT_WAITING(${st:-none})"
}

log "SLURM_CONF=$SLURM_CONF"

# 1. client tools
scontrol show config >"$WORK/config.txt" || fail "scontrol show config"
grep -Eq '^SelectType +=.*cons_tres' "$WORK/config.txt" || fail "SelectType is not cons_tres"
grep -Eq '^SelectTypeParameters +=.*CR_CPU_MEMORY' "$WORK/config.txt" || fail "SelectTypeParameters is not CR_CPU_Memory"
grep -Eq '^AccountingStorageType +=.*slurmdbd' "$WORK/config.txt" || fail "accounting is not slurmdbd"
pass "scontrol show config"
squeue >/dev/null || fail "squeue"
pass "squeue"
sinfo -h -o '%P %a %l %D %t' | grep -Eq '\* up infinite 1 idle' || { sinfo >&2; fail "sinfo: default partition not up/idle"; }
pass "sinfo: $(sinfo -h -o '%P %a %l %D %t %N')"
sacctmgr -n -P list cluster format=cluster | grep -qx "$(awk -F= '/^ClusterName=/{print $2}' "$SLURM_CONF")" || fail "cluster not registered in slurmdbd"
pass "cluster registered in slurmdbd"

# 2. plain batch job with explicit resources, checked through sacct
jid="$(sbatch --parsable --mem 700 -t 7 --cpus-per-task 1 --ntasks=1 \
        -J ff-selftest -o "$WORK/job-%j.out" --wrap 'hostname; sleep 2')" || fail "sbatch"
jid="${jid%%;*}"
log "submitted batch job $jid"
st="$(wait_job "$jid")"
[[ "$st" == COMPLETED ]] || { cat "$WORK/job-$jid.out" >&2 || true; fail "job $jid ended in state $st"; }
line="$(sacct -j "$jid" -X -P -n --format JobID,State,ReqMem,Timelimit,ReqCPUS,ExitCode)"
log "sacct: $line"
IFS='|' read -r s_id s_state s_mem s_tl s_cpus s_exit <<<"$line"
[[ "$s_id" == "$jid" && "$s_state" == COMPLETED && "$s_mem" == 700M && "$s_tl" == 00:07:00 \
   && "$s_cpus" == 1 && "$s_exit" == 0:0 ]] || fail "unexpected sacct line: $line"
grep -q . "$WORK/job-$jid.out" || fail "job output empty"
pass "sbatch + sacct (COMPLETED, 700M, 00:07:00, 1 CPU)"

# 3. srun inside an sbatch allocation (what snakemake's slurm-jobstep executor does)
jid2="$(sbatch --parsable --mem 500 -t 5 --cpus-per-task 1 -J ff-srun -o "$WORK/srun-%j.out" \
         --wrap 'srun -n1 hostname && srun -n1 --cpu-bind=q --cpus-per-task 1 echo step-ok')" || fail "sbatch (srun)"
jid2="${jid2%%;*}"
log "submitted srun job $jid2"
st="$(wait_job "$jid2")"
[[ "$st" == COMPLETED ]] || { cat "$WORK/srun-$jid2.out" >&2 || true; fail "srun job $jid2 ended in state $st"; }
grep -qx 'step-ok' "$WORK/srun-$jid2.out" || { cat "$WORK/srun-$jid2.out" >&2; fail "srun step output missing"; }
steps="$(sacct -j "$jid2" -P -n --format JobID,State)"
grep -q "^$jid2\.0|COMPLETED" <<<"$steps" || { echo "$steps" >&2; fail "step $jid2.0 not COMPLETED in sacct"; }
grep -q "^$jid2\.1|COMPLETED" <<<"$steps" || { echo "$steps" >&2; fail "step $jid2.1 not COMPLETED in sacct"; }
pass "srun inside sbatch (steps .0 and .1 COMPLETED)"

# 4. the query snakemake's slurm executor uses for status polling
out="$(sacct -X --parsable2 --clusters all --noheader --format=JobIdRaw,State --name ff-selftest)"
grep -q "^$jid|COMPLETED" <<<"$out" || { echo "$out" >&2; fail "sacct --clusters all --name"; }
pass "sacct --clusters all --name"

# 5. memory is a scheduled resource: an impossible --mem is rejected
if sbatch --parsable --mem 100000000 -t 1 -o /dev/null --wrap true >/dev/null 2>"$WORK/bigmem.err"; then
  fail "sbatch with --mem 100000000 was accepted (memory not scheduled?)"
fi
pass "oversized --mem rejected: $(head -n1 "$WORK/bigmem.err")"

log "SELFTEST PASSED"
