#!/usr/bin/env bash
# A real single-node Slurm for the Slurm backend's tests: munge + slurmctld + slurmd with two
# fake GPUs (character devices, so `--gres=gpu` scheduling and CUDA_VISIBLE_DEVICES are real).
#
#   scripts/slurm-cluster.sh start   # install (apt-get, only when missing), configure, start; idempotent
#   scripts/slurm-cluster.sh status  # which of the daemons it started run
#   scripts/slurm-cluster.sh stop    # ends only the daemons this script started (its pid files)
#
# State, config, logs and pid files live under $LMDECK_SLURM_DIR (default /tmp/lmdeck-slurm).
# The client commands find the cluster through SLURM_CONF=$LMDECK_SLURM_DIR/etc/slurm.conf,
# which `start` also copies to /etc/slurm/slurm.conf when that file is absent (so a plain
# `sbatch` works), and `stop` removes again when it put it there.
set -euo pipefail

DIR="${LMDECK_SLURM_DIR:-/tmp/lmdeck-slurm}"
ETC="$DIR/etc" RUN="$DIR/run" LOG="$DIR/log" STATE="$DIR/state" DEV="$DIR/dev"
CONF="$ETC/slurm.conf"
HOST="$(hostname -s)"

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo -n" # never wait for a password

log() { echo "slurm-cluster: $*" >&2; }

# A pid file names a live process of the expected program.
alive() {
    local file="$1" name="$2" pid
    [ -s "$file" ] || return 1
    pid="$(cat "$file")"
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]
}

install() {
    if command -v sbatch >/dev/null && command -v slurmctld >/dev/null &&
        command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    log "installing slurmctld slurmd slurm-client munge (apt-get)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
}

configure() {
    mkdir -p "$ETC" "$RUN" "$LOG" "$STATE/ctld" "$STATE/d" "$DEV"
    # Fake GPUs: slurmd accepts only character devices in gres.conf (regular files are refused).
    for i in 0 1; do
        [ -c "$DEV/nvidia$i" ] || { rm -f "$DEV/nvidia$i"; mknod "$DEV/nvidia$i" c 1 3; }
    done
    cat >"$CONF" <<EOF
ClusterName=ci
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MinJobAge=86400
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.txt
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName=$HOST CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=20000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s/nvidia[0-1]\n' "$HOST" "$DEV" >"$ETC/gres.conf"
    if [ ! -e /etc/slurm/slurm.conf ]; then
        mkdir -p /etc/slurm
        cp "$CONF" /etc/slurm/slurm.conf
        cp "$ETC/gres.conf" /etc/slurm/gres.conf
        touch "$RUN/installed-etc-conf"
    fi
}

start_munge() {
    if alive "$RUN/munged.pid" munged; then return; fi
    # A munged someone else runs serves us too; only one we start gets a pid file here.
    if pgrep -x munged >/dev/null; then return; fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey -c
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged --force
    # munged (as the munge user) writes its pid file under /run/munge: copy it to ours.
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$RUN/munged.pid"
}

start() {
    install
    configure
    start_munge
    export SLURM_CONF="$CONF"
    alive "$RUN/slurmctld.pid" slurmctld || slurmctld -f "$CONF"
    alive "$RUN/slurmd.pid" slurmd || slurmd -f "$CONF"
    # Ready when the node takes jobs.
    local state=""
    for _ in $(seq 150); do
        state="$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)"
        case "$state" in idle | mixed | allocated) break ;; esac
        sleep 0.2
    done
    case "$state" in
    idle | mixed | allocated) ;;
    *)
        log "the node did not become idle (state: ${state:-none}); see $LOG"
        exit 1
        ;;
    esac
    log "running: SLURM_CONF=$CONF (node $HOST: $state, 2 CPUs, gpu:2)"
}

stop() {
    local name
    for name in slurmd slurmctld munged; do
        if alive "$RUN/$name.pid" "$name"; then
            local pid
            pid="$(cat "$RUN/$name.pid")"
            kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            log "stopped $name ($pid)"
        fi
        rm -f "$RUN/$name.pid"
    done
    if [ -e "$RUN/installed-etc-conf" ]; then
        rm -f /etc/slurm/slurm.conf /etc/slurm/gres.conf "$RUN/installed-etc-conf"
    fi
}

status() {
    local name rc=0
    for name in munged slurmctld slurmd; do
        if alive "$RUN/$name.pid" "$name"; then
            echo "$name: running (pid $(cat "$RUN/$name.pid"))"
        else
            echo "$name: not running (started by this script)"
            rc=1
        fi
    done
    return $rc
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status   (state in \$LMDECK_SLURM_DIR, default /tmp/lmdeck-slurm)" >&2
    exit 2
    ;;
esac
