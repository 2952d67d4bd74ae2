#!/usr/bin/env bash
# A real single-node SLURM (munged + slurmctld + slurmd) on localhost, for tests and for trying
# the submitit launcher on one machine. Debian/Ubuntu, as root (or with passwordless sudo).
#
#   scripts/slurm_local.sh install   # apt packages: slurmctld slurmd slurm-client munge
#   scripts/slurm_local.sh start     # config + daemons in $SLURM_LOCAL_DIR (default /tmp/slurm-local)
#   scripts/slurm_local.sh status    # sinfo
#   scripts/slurm_local.sh stop      # stop the daemons by the PIDs in their pid files
#   source $SLURM_LOCAL_DIR/env      # SLURM_CONF and PATH (sacct stand-in) for clients and jobs
#
# No accounting database: a small `sacct` stand-in (first on PATH) answers submitit's state
# queries from `scontrol show job`. Facts and pitfalls: shared/design/SLURM-LOCAL.md.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
CPUS=${SLURM_LOCAL_CPUS:-4}   # CPUs the node declares (more than the machine's: more jobs at once)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    echo "slurm and munge already installed"; return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends \
         slurmctld slurmd slurm-client munge >/dev/null; }
  echo "installed: $(slurmctld -V)"
}

write_config() {
  mkdir -p "$DIR"/{etc,run,log,spool/ctld,spool/d,bin,munge-key}
  chmod 0755 "$DIR" "$DIR/run"         # munged refuses a socket folder others cannot enter
  chmod 0700 "$DIR/munge-key"
  [ -f "$DIR/munge-key/munge.key" ] || mungekey --create --keyfile="$DIR/munge-key/munge.key" >/dev/null 2>&1 \
    || dd if=/dev/urandom of="$DIR/munge-key/munge.key" bs=1024 count=1 2>/dev/null
  chmod 0400 "$DIR/munge-key/munge.key"
  local host node_line
  host=$(hostname -s)
  node_line=$(slurmd -C | head -1 | sed -E "s/CPUs=[0-9]+/CPUs=$CPUS/; s/(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+ ?//g")
  cat > "$DIR/etc/slurm.conf" <<EOF
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/run/munge.sock
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
MinJobAge=3600
ReturnToService=2
KillWait=5
FirstJobId=$(( $(date +%s) % 60000000 + 1000 ))
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  # sacct stand-in: `sacct -o JobID,State,NodeList --parsable2 -j ID ...` from scontrol
  cat > "$DIR/bin/sacct" <<'EOF'
#!/usr/bin/env bash
ids=()
while [ $# -gt 0 ]; do
  case "$1" in -j) ids+=("${2//,/ }"); shift 2 ;; *) shift ;; esac
done
echo "JobID|State|NodeList"
for id in ${ids[@]}; do
  scontrol -o show job "$id" 2>/dev/null | while read -r line; do
    jid=$(grep -oE '(^| )JobId=[0-9]+' <<<"$line" | cut -d= -f2)
    arr=$(grep -oE 'ArrayJobId=[0-9]+' <<<"$line" | cut -d= -f2 || true)
    task=$(grep -oE 'ArrayTaskId=[0-9]+' <<<"$line" | cut -d= -f2 || true)
    state=$(grep -oE 'JobState=[A-Z_]+' <<<"$line" | cut -d= -f2)
    nodes=$(grep -oE ' NodeList=[^ ]+' <<<"$line" | cut -d= -f2)
    if [ -n "$arr" ] && [ -n "$task" ]; then echo "${arr}_${task}|$state|$nodes"; else echo "$jid|$state|$nodes"; fi
  done
done
EOF
  chmod +x "$DIR/bin/sacct"
  printf 'export SLURM_CONF=%s\nexport PATH=%s:$PATH\n' "$DIR/etc/slurm.conf" "$DIR/bin" > "$DIR/env"
}

start() {
  if status >/dev/null 2>&1; then echo "already running ($DIR)"; return 0; fi
  write_config
  export SLURM_CONF="$DIR/etc/slurm.conf"
  munged --socket="$DIR/run/munge.sock" --key-file="$DIR/munge-key/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/run/munge.seed" --force
  slurmctld -c -f "$SLURM_CONF"      # -c: clean start, no old jobs
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 100); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^idle'; then
      echo "slurm up: $(sinfo -h -o '%P %D %c %t') (source $DIR/env)"; return 0
    fi
    sleep 0.1
  done
  echo "slurm did not come up; logs in $DIR/log" >&2
  tail -5 "$DIR"/log/*.log >&2 || true
  return 1
}

stop() {
  local pids=()
  for name in slurmd slurmctld munged; do
    [ -f "$DIR/run/$name.pid" ] && pids+=("$(cat "$DIR/run/$name.pid")")
  done
  [ ${#pids[@]} -eq 0 ] && { echo "not running"; return 0; }
  kill "${pids[@]}" 2>/dev/null || true      # all together: each takes ~2 s to exit
  for _ in $(seq 100); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  rm -f "$DIR"/run/*.pid
  echo "stopped"
}

status() {
  [ -f "$DIR/etc/slurm.conf" ] || return 1
  SLURM_CONF="$DIR/etc/slurm.conf" sinfo -h -o '%P %D %c %t'
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
