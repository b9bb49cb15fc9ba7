#!/usr/bin/env bash
# Bring up / tear down a private single-node Slurm cluster (with accounting)
# on localhost, for integration tests of the Snakemake SLURM profile.
#
#   tests/cluster/slurm_cluster.sh up        # start (or reuse) the cluster
#   tests/cluster/slurm_cluster.sh status    # daemons + sinfo/squeue
#   tests/cluster/slurm_cluster.sh selftest  # smoke check (runs check_cluster.sh)
#   tests/cluster/slurm_cluster.sh down      # stop everything, remove state dir
#
# After `up`, point the client tools at the private config:
#   source "${SLURM_TEST_DIR:-/tmp/fairforget-slurm}/env.sh"
# or  eval "$(tests/cluster/slurm_cluster.sh up)"   (stdout = export lines only;
#     all progress messages go to stderr).
#
# Everything lives in $SLURM_TEST_DIR (configs, munge key+socket, MariaDB
# datadir, spool, logs, pid files).  Nothing under /etc, /var/lib/mysql or
# /run/munge is used or modified.  Requires root (re-execs via sudo if
# available).  Daemons: munged, mariadbd, slurmdbd, slurmctld, slurmd.
#
# Tunables (environment):
#   SLURM_TEST_DIR          state dir               [/tmp/fairforget-slurm]
#   SLURM_TEST_CLUSTER      ClusterName             [fairforget]
#   SLURM_TEST_PARTITION    default partition       [debug]
#   SLURM_TEST_PORT_BASE    slurmctld port; slurmd = +1, slurmdbd = +2  [16817]
#   SLURM_TEST_MYSQL_PORT   private MariaDB TCP port (127.0.0.1 only)  [13306]
#   SLURM_TEST_TIMEOUT      seconds to wait for each daemon / node idle [90]
#   SLURM_TEST_USERS        extra users to add to the accounting DB     []
#   SLURM_TEST_TASK_PLUGIN  TaskPlugin (task/affinity silences srun's
#                           "lacks support for cpu binding" note)   [task/none]
#   SLURM_TEST_KEEP_ON_FAILURE=1  leave daemons running if `up` fails (default:
#                           copy logs to ${SLURM_TEST_DIR}-failed-logs, tear down)
set -euo pipefail

log() { echo "[slurm] $*" >&2; }
die() { echo "[slurm] ERROR: $*" >&2; exit 1; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/sbin:/sbin"

DIR="${SLURM_TEST_DIR:-/tmp/fairforget-slurm}"
CLUSTER="${SLURM_TEST_CLUSTER:-fairforget}"
PARTITION="${SLURM_TEST_PARTITION:-debug}"
PORT_BASE="${SLURM_TEST_PORT_BASE:-16817}"
CTLD_PORT="$PORT_BASE"
SLURMD_PORT="$((PORT_BASE + 1))"
DBD_PORT="$((PORT_BASE + 2))"
MYSQL_PORT="${SLURM_TEST_MYSQL_PORT:-13306}"
TIMEOUT="${SLURM_TEST_TIMEOUT:-90}"
MARKER=".fairforget-slurm-test-dir"

case "$DIR" in
  /*) ;;
  *) die "SLURM_TEST_DIR must be an absolute path (got '$DIR')" ;;
esac
DIR="${DIR%/}"
case "$DIR" in
  ""|/|/tmp|/var|/etc|/usr|/root|/home|/run) die "refusing to use SLURM_TEST_DIR=$DIR" ;;
esac

ETC="$DIR/etc"
RUN="$DIR/run"
LOGD="$DIR/log"
SPOOL="$DIR/spool"
MUNGE_DIR="$DIR/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket.2"
MUNGE_KEY="$ETC/munge.key"
MYSQL_DIR="$DIR/mysql"
MYSQL_DATA="$MYSQL_DIR/data"
MYSQL_SOCKET="$MYSQL_DIR/mysqld.sock"
SLURM_CONF_FILE="$ETC/slurm.conf"
SLURMDBD_CONF_FILE="$ETC/slurmdbd.conf"
ENV_FILE="$DIR/env.sh"

# name -> pid file (order = start order; stop in reverse)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
pidfile() { echo "$RUN/$1.pid"; }

node_name() {
  local n
  n="$(hostname -s 2>/dev/null || true)"
  if [[ -z "$n" || ! "$n" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]]; then n=localhost; fi
  echo "$n"
}
NODE="$(node_name)"

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
need_root() {
  if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      log "not root: re-running via sudo"
      exec sudo -n -E env "PATH=$PATH" bash "${BASH_SOURCE[0]}" "$@"
    fi
    die "must run as root (or with passwordless sudo)"
  fi
}

proc_state() {  # single-letter state of a pid (R, S, Z, ...), empty if gone
  local line
  { while read -r line; do
      if [[ "$line" == State:* ]]; then line="${line#State:}"; echo "${line//[[:space:]]/}" | cut -c1; return 0; fi
    done <"/proc/$1/status"; } 2>/dev/null || true
}

alive() {  # a zombie (exited, not yet reaped by PID 1) counts as dead
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(proc_state "$1")"
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

pid_of() {  # print pid if the daemon's pid file points at a live process
  local f pid
  f="$(pidfile "$1")"
  [[ -s "$f" ]] || return 1
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" ]] && alive "$pid" || return 1
  echo "$pid"
}

wait_for() {  # wait_for <description> <timeout> <cmd...>
  local what="$1" t="$2"; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then
      log "timed out after ${t}s waiting for: $what"
      return 1
    fi
    sleep 0.5
  done
}

wait_daemon() {  # wait_daemon <name> <cmd...>: like wait_for, but fail fast if it died
  local name="$1"; shift
  local end=$((SECONDS + TIMEOUT)) dead=0
  until "$@" >/dev/null 2>&1; do
    if pid_of "$name" >/dev/null; then dead=0; else dead=$((dead + 1)); fi
    if ((dead >= 10)); then log "$name is not running"; return 1; fi
    if ((SECONDS >= end)); then
      log "timed out after ${TIMEOUT}s waiting for $name"
      return 1
    fi
    sleep 0.5
  done
}

show_logs() {
  local f
  echo "[slurm] ---- daemon logs (last 40 lines each) ----" >&2
  for f in "$LOGD"/*.log "$MYSQL_DIR"/*.log; do
    [[ -f "$f" ]] || continue
    echo "[slurm] ==> $f <==" >&2
    tail -n 40 "$f" >&2 || true
  done
  echo "[slurm] ---- end of logs ----" >&2
}

fail_up() {
  log "ERROR: $*"
  show_logs
  if [[ "${SLURM_TEST_KEEP_ON_FAILURE:-0}" == 1 ]]; then
    log "cluster is NOT up; daemons left running for inspection (SLURM_TEST_KEEP_ON_FAILURE=1)"
    log "clean up with: $0 down"
  else
    local keep="${DIR}-failed-logs"
    rm -rf -- "$keep"; mkdir -p "$keep"
    cp -a "$ETC" "$LOGD" "$keep/" 2>/dev/null || true
    cp -a "$MYSQL_DIR"/*.log "$keep/" 2>/dev/null || true
    rm -f "$keep/etc/slurmdbd.conf" "$keep/etc/munge.key"
    log "cluster is NOT up; logs/configs copied to $keep; tearing down"
    cmd_down || true
  fi
  exit 1
}

port_free() {  # true if nothing listens on 127.0.0.1:<port>
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

export_lines() {
  echo "export SLURM_CONF=$SLURM_CONF_FILE"
  echo "export SLURM_TEST_DIR=$DIR"
}

# processes that belong to *this* test cluster:
#  * daemon/stepd binaries whose command line or environment mentions our
#    state dir / config, and
#  * orphaned job processes (environment has our SLURM_CONF *and* a
#    SLURM_JOB_ID), e.g. left behind when slurmstepd was SIGKILLed.
# The calling process and its ancestors are never listed.
our_procs() {
  local p q comm line ppid ancestors=" $BASHPID " args envs
  q=$$
  while [[ -n "$q" && "$q" != 0 ]]; do
    ancestors+="$q "
    ppid=""
    { while read -r line; do
        [[ "$line" == PPid:* ]] && { ppid="${line#PPid:}"; ppid="${ppid//[[:space:]]/}"; break; }
      done <"/proc/$q/status"; } 2>/dev/null || true
    q="$ppid"
  done
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [[ "$ancestors" == *" $p "* ]] && continue
    { read -r comm <"/proc/$p/comm"; } 2>/dev/null || continue
    args=(); envs=()
    { mapfile -d '' args <"/proc/$p/cmdline"; } 2>/dev/null || true
    { mapfile -d '' envs <"/proc/$p/environ"; } 2>/dev/null || true
    local has_conf=0 has_job=0 has_dir=0 x
    for x in "${envs[@]}"; do
      [[ "$x" == "SLURM_CONF=$SLURM_CONF_FILE" ]] && has_conf=1
      [[ "$x" == SLURM_JOB_ID=* ]] && has_job=1
    done
    for x in "${args[@]}"; do
      [[ "$x" == *"$DIR/"* ]] && has_dir=1
    done
    case "$comm" in
      munged|mariadbd|mysqld|slurmdbd|slurmctld|slurmd|slurmstepd)
        ((has_dir || has_conf)) || continue ;;
      *)
        ((has_conf && has_job)) || continue ;;
    esac
    alive "$p" && echo "$p"
  done
  return 0
}

# --------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------
ensure_packages() {
  local missing=0 b
  for b in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sbatch sacctmgr; do
    command -v "$b" >/dev/null 2>&1 || missing=1
  done
  ((missing)) || return 0
  command -v apt-get >/dev/null 2>&1 || die "Slurm is not installed and apt-get is unavailable"
  local pkgs=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
  log "installing Debian packages: ${pkgs[*]}"
  # keep the packages' init scripts from starting system-wide daemons
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local ok=0
  if apt-cache policy slurmctld 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >&2 && ok=1
  fi
  if ((!ok)); then
    log "running apt-get update"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >&2 && ok=1
  fi
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  ((ok)) || die "apt-get install failed"
  for b in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db; do
    command -v "$b" >/dev/null 2>&1 || die "$b still missing after install"
  done
}

# --------------------------------------------------------------------------
# up
# --------------------------------------------------------------------------
healthy() {
  local d
  for d in "${DAEMONS[@]}"; do pid_of "$d" >/dev/null || return 1; done
  [[ -f "$SLURM_CONF_FILE" ]] || return 1
  SLURM_CONF="$SLURM_CONF_FILE" node_ready
}

node_ready() {
  local st
  st="$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null)" || return 1
  [[ "$st" =~ ^(idle|mixed|allocated|completing)$ ]]
}

start_munge() {
  mkdir -p "$MUNGE_DIR"
  chmod 755 "$MUNGE_DIR"
  if [[ ! -s "$MUNGE_KEY" ]]; then
    log "writing munge key $MUNGE_KEY"
    (umask 077; dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none)
  fi
  chmod 600 "$MUNGE_KEY"
  log "starting munged (socket $MUNGE_SOCKET)"
  munged --key-file="$MUNGE_KEY" --socket="$MUNGE_SOCKET" \
         --pid-file="$(pidfile munged)" --log-file="$LOGD/munged.log" \
         --seed-file="$MUNGE_DIR/munged.seed" --num-threads=4 \
         </dev/null >>"$LOGD/munged.log" 2>&1 ||
    munged --force --key-file="$MUNGE_KEY" --socket="$MUNGE_SOCKET" \
         --pid-file="$(pidfile munged)" --log-file="$LOGD/munged.log" \
         --seed-file="$MUNGE_DIR/munged.seed" --num-threads=4 \
         </dev/null >>"$LOGD/munged.log" 2>&1 ||
    fail_up "munged failed to start"
  wait_for "munge socket" "$TIMEOUT" bash -c \
    "munge -S '$MUNGE_SOCKET' -n </dev/null | unmunge -S '$MUNGE_SOCKET'" ||
    fail_up "munged does not answer on $MUNGE_SOCKET"
}

# shellcheck disable=SC2120  # callers pass -e '...' (also via wait_daemon)
mysql_root() { mariadb --no-defaults --socket="$MYSQL_SOCKET" -uroot "$@"; }

start_mariadb() {
  mkdir -p "$MYSQL_DIR"
  if [[ ! -d "$MYSQL_DATA/mysql" ]]; then
    log "initialising private MariaDB datadir $MYSQL_DATA"
    mariadb-install-db --no-defaults --datadir="$MYSQL_DATA" --user=root \
      --auth-root-authentication-method=socket --skip-test-db \
      >"$MYSQL_DIR/install.out" 2>&1 || fail_up "mariadb-install-db failed"
  fi
  log "starting mariadbd (127.0.0.1:$MYSQL_PORT, socket $MYSQL_SOCKET)"
  setsid mariadbd --no-defaults --user=root --datadir="$MYSQL_DATA" \
    --socket="$MYSQL_SOCKET" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
    --skip-name-resolve --pid-file="$(pidfile mariadbd)" \
    --log-error="$MYSQL_DIR/mariadbd.log" --skip-log-bin \
    --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
    --innodb-lock-wait-timeout=900 --max-connections=100 \
    --innodb-buffer-pool-dump-at-shutdown=0 --innodb-buffer-pool-load-at-startup=0 \
    </dev/null >>"$MYSQL_DIR/mariadbd.log" 2>&1 &
  wait_daemon mariadbd mysql_root -e 'SELECT 1' ||
    fail_up "mariadbd did not come up"
  local pw
  pw="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 || true)"
  echo "$pw" >"$MYSQL_DIR/slurm.pw"; chmod 600 "$MYSQL_DIR/slurm.pw"
  # shellcheck disable=SC2119
  mysql_root <<SQL || fail_up "could not create slurm_acct_db / slurm user"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE OR REPLACE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE OR REPLACE USER 'slurm'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
}

write_configs() {
  local cpus memtotal_kb realmem defmem pw
  cpus="$(nproc)"
  memtotal_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  realmem=$((memtotal_kb * 9 / 10 / 1024))
  defmem=$((realmem / cpus)); ((defmem > 1024)) && defmem=1024
  pw="$(cat "$MYSQL_DIR/slurm.pw")"

  log "writing $SLURMDBD_CONF_FILE"
  (umask 077; cat >"$SLURMDBD_CONF_FILE" <<EOF
# generated by tests/cluster/slurm_cluster.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$LOGD/slurmdbd.log
PidFile=$(pidfile slurmdbd)
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$pw
StorageLoc=slurm_acct_db
EOF
  )
  chown root:root "$SLURMDBD_CONF_FILE"
  chmod 600 "$SLURMDBD_CONF_FILE"

  log "writing $SLURM_CONF_FILE (node $NODE: CPUs=$cpus RealMemory=${realmem}M)"
  cat >"$SLURM_CONF_FILE" <<EOF
# generated by tests/cluster/slurm_cluster.sh -- private single-node test cluster
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$SPOOL/slurmctld
SlurmdSpoolDir=$SPOOL/slurmd
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$LOGD/slurmctld.log
SlurmdLogFile=$LOGD/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$ETC/plugstack.conf
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
# containers: no cgroup plugins
ProctrackType=proctrack/linuxproc
TaskPlugin=${SLURM_TEST_TASK_PLUGIN:-task/none}
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$defmem
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=120
SlurmdTimeout=300
Waittime=0
# accounting
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# for slurmdbd connections the munge socket is taken from here, not AuthInfo
AccountingStoragePass=$MUNGE_SOCKET
JobCompType=jobcomp/none
# node + partition
NodeName=$NODE NodeHostname=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$realmem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 644 "$SLURM_CONF_FILE"
  : >"$ETC/plugstack.conf"
}

start_slurmdbd() {
  log "starting slurmdbd (port $DBD_PORT)"
  SLURM_CONF="$SLURM_CONF_FILE" slurmdbd </dev/null >>"$LOGD/slurmdbd.out" 2>&1 ||
    fail_up "slurmdbd failed to start"
  wait_daemon slurmdbd sacctmgr -n -P list cluster ||
    fail_up "slurmdbd did not answer"
}

register_accounting() {
  log "registering cluster '$CLUSTER' in accounting"
  if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >&2 || fail_up "sacctmgr add cluster failed"
  fi
  sacctmgr -i add account "$CLUSTER" Cluster="$CLUSTER" \
    Description="fairforget test" Organization=fairforget >/dev/null 2>&1 || true
  local u extra=() users=(root "${SUDO_USER:-}")
  read -ra extra <<<"${SLURM_TEST_USERS:-}"
  users+=("${extra[@]}")
  for u in "${users[@]}"; do
    [[ -n "$u" ]] || continue
    id "$u" >/dev/null 2>&1 || continue
    sacctmgr -i add user "$u" Account="$CLUSTER" Cluster="$CLUSTER" >/dev/null 2>&1 || true
  done
}

start_slurmctld() {
  log "starting slurmctld (port $CTLD_PORT)"
  slurmctld -f "$SLURM_CONF_FILE" </dev/null >>"$LOGD/slurmctld.out" 2>&1 ||
    fail_up "slurmctld failed to start"
  wait_daemon slurmctld scontrol ping ||
    fail_up "slurmctld did not answer"
  scontrol ping 2>/dev/null | grep -q UP || fail_up "slurmctld is not UP"
}

start_slurmd() {
  log "starting slurmd -N $NODE (port $SLURMD_PORT)"
  slurmd -f "$SLURM_CONF_FILE" -N "$NODE" </dev/null >>"$LOGD/slurmd.out" 2>&1 ||
    fail_up "slurmd failed to start"
}

# Snakemake's slurm-jobstep executor strips SLURM_* variables (SLURM_CONF included) before it calls srun
# inside a job, so srun reads the compiled-in default /etc/slurm/slurm.conf: while the cluster is up that
# path is a link to our private config. An existing file there (a real cluster's) is never replaced.
DEFAULT_CONF=/etc/slurm/slurm.conf

link_default_conf() {
  if [[ -L "$DEFAULT_CONF" && "$(readlink "$DEFAULT_CONF")" == "$SLURM_CONF_FILE" ]]; then
    return 0
  fi
  [[ -e "$DEFAULT_CONF" || -L "$DEFAULT_CONF" ]] && \
    fail_up "$DEFAULT_CONF exists (a real Slurm configuration?): srun inside Snakemake jobs would read it instead of $SLURM_CONF_FILE; refusing to replace it"
  mkdir -p "$(dirname "$DEFAULT_CONF")"
  ln -s "$SLURM_CONF_FILE" "$DEFAULT_CONF"
  log "linked $DEFAULT_CONF -> $SLURM_CONF_FILE (removed by down)"
}

unlink_default_conf() {
  if [[ -L "$DEFAULT_CONF" && "$(readlink "$DEFAULT_CONF")" == "$SLURM_CONF_FILE" ]]; then
    rm -f "$DEFAULT_CONF"
    log "removed link $DEFAULT_CONF"
  fi
}

cmd_up() {
  need_root up
  ensure_packages
  export SLURM_CONF="$SLURM_CONF_FILE"
  if [[ -d "$DIR" ]]; then
    if healthy; then
      log "cluster already up in $DIR, reusing it"
      link_default_conf
      export_lines >"$ENV_FILE"
      export_lines
      return 0
    fi
    log "stale/partial cluster in $DIR: tearing it down first"
    cmd_down
  fi
  local t0=$SECONDS port
  for port in "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$MYSQL_PORT"; do
    port_free "$port" || die "port $port on 127.0.0.1 is already in use (another cluster?); set SLURM_TEST_PORT_BASE / SLURM_TEST_MYSQL_PORT"
  done
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  chmod 755 "$DIR"
  mkdir -p "$ETC" "$RUN" "$LOGD" "$SPOOL/slurmctld" "$SPOOL/slurmd" "$DIR/selftest"
  chmod 755 "$ETC" "$RUN" "$LOGD" "$SPOOL"
  chmod 1777 "$DIR/selftest"

  start_munge
  start_mariadb
  write_configs
  link_default_conf
  start_slurmdbd
  register_accounting
  start_slurmctld
  start_slurmd

  log "waiting (up to ${TIMEOUT}s) for node $NODE to become idle"
  local end=$((SECONDS + TIMEOUT)) st=""
  while :; do
    st="$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null || true)"
    [[ "$st" == idle ]] && break
    if ((SECONDS >= end)); then
      sinfo -N -l >&2 || true
      scontrol show node "$NODE" >&2 || true
      fail_up "node $NODE not idle after ${TIMEOUT}s (state: '${st:-?}')"
    fi
    sleep 0.5
  done
  for d in "${DAEMONS[@]}"; do
    pid_of "$d" >/dev/null || fail_up "$d is not running"
  done
  export_lines >"$ENV_FILE"
  chmod 644 "$ENV_FILE"
  sinfo >&2
  log "cluster up in $((SECONDS - t0))s; state dir $DIR"
  log "use it with:  source $ENV_FILE"
  export_lines
}

# --------------------------------------------------------------------------
# down
# --------------------------------------------------------------------------
stop_pid() {  # stop_pid <name> <pid>
  local name="$1" pid="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) ignored SIGTERM for 10s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

cmd_down() {
  need_root down
  local t0=$SECONDS d pid left p stopped=()
  if [[ ! -e "$DIR" ]]; then
    log "nothing to do: $DIR does not exist"
  elif [[ ! -e "$DIR/$MARKER" ]]; then
    die "$DIR exists but was not created by this script (no $MARKER); refusing to touch it"
  fi
  # cancel jobs first so slurmstepd/job processes exit cleanly
  if pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null; then
    if [[ -n "$(SLURM_CONF="$SLURM_CONF_FILE" squeue -h -o %i 2>/dev/null)" ]]; then
      log "cancelling remaining jobs"
      local ids=()
      mapfile -t ids < <(SLURM_CONF="$SLURM_CONF_FILE" squeue -h -o %i 2>/dev/null)
      ((${#ids[@]})) && SLURM_CONF="$SLURM_CONF_FILE" scancel --full "${ids[@]}" 2>/dev/null || true
      local end=$((SECONDS + 15))
      while [[ -n "$(SLURM_CONF="$SLURM_CONF_FILE" squeue -h -o %i 2>/dev/null)" ]] && ((SECONDS < end)); do
        sleep 0.5
      done
    fi
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    d="${DAEMONS[i]}"
    if pid="$(pid_of "$d")"; then
      local ts=$SECONDS
      stop_pid "$d" "$pid"
      stopped+=("$pid")
      log "stopped $d (pid $pid, $((SECONDS - ts))s)"
    fi
  done
  # last resort: anything still using our state dir / config
  left="$(our_procs | tr '\n' ' ')"
  if [[ -n "${left// /}" ]]; then
    log "leftover processes of this cluster: $left -> SIGTERM"
    for p in $left; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 2
    left="$(our_procs | tr '\n' ' ')"
    if [[ -n "${left// /}" ]]; then
      log "still alive: $left -> SIGKILL"
      for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
      sleep 0.5
    fi
  fi
  left="$(our_procs | tr '\n' ' ')"
  if [[ -n "${left// /}" ]]; then
    left="$(echo "$left" | xargs | tr ' ' ',')"
    ps -o pid,stat,comm,args -p "$left" >&2 || true
    die "processes still running after down: $left"
  fi
  # give PID 1 a moment to reap the exited daemons so `ps` is clean afterwards
  local end=$((SECONDS + 5))
  for p in "${stopped[@]}"; do
    while [[ -e "/proc/$p" ]] && ((SECONDS < end)); do sleep 0.1; done
  done
  unlink_default_conf
  if [[ -e "$DIR/$MARKER" ]]; then
    rm -rf --one-file-system -- "$DIR"
    log "removed $DIR"
  fi
  log "cluster down ($((SECONDS - t0))s); no daemons of $DIR left"
}

# --------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------
cmd_status() {
  local d pid rc=0
  if [[ ! -d "$DIR" ]]; then
    log "no cluster: $DIR does not exist"
    return 1
  fi
  for d in "${DAEMONS[@]}"; do
    if pid="$(pid_of "$d")"; then
      log "$d: running (pid $pid)"
    else
      log "$d: NOT running"; rc=1
    fi
  done
  if [[ -f "$SLURM_CONF_FILE" ]]; then
    export SLURM_CONF="$SLURM_CONF_FILE"
    log "SLURM_CONF=$SLURM_CONF"
    sinfo -N -l || rc=1
    squeue || rc=1
  fi
  return $rc
}

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  selftest) export SLURM_CONF="$SLURM_CONF_FILE"; exec bash "$SCRIPT_DIR/check_cluster.sh" ;;
  env) export_lines ;;
  logs) show_logs ;;
  *) usage ;;
esac
