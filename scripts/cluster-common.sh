# Shared by the cluster scripts: reads the settings file and knows the run directory layout.
#   RUN_DIR/server.pid, RUN_DIR/server.log
#   RUN_DIR/actors/<name>.pid, RUN_DIR/logs/<name>.log      (local actors)
#   RUN_DIR/remote/<host>--<name>.pid                        (actors started over ssh)
# shellcheck shell=bash

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

load_settings() {
    local file="${1:-}"
    if [[ -z "$file" ]]; then
        if [[ -f cluster/cluster.env ]]; then file=cluster/cluster.env; else file=cluster/cluster.env.example; fi
    fi
    [[ -f "$file" ]] || die "settings file $file not found (copy cluster/cluster.env.example)"
    # shellcheck disable=SC1090
    source "$file"
    IRN_PORT="${IRN_PORT:-5555}"
    IRN_BIND="${IRN_BIND:-127.0.0.1}"
    IRN_SERVER_ADDR="${IRN_SERVER_ADDR:-127.0.0.1}"
    IRN_ALGO="${IRN_ALGO:-irn-p}"
    IRN_DATA="${IRN_DATA:-}"
    IRN_BIN="${IRN_BIN:-.build/release}"
    IRN_RUN_DIR="${IRN_RUN_DIR:-cluster-run}"
    IRN_SERVER_ARGS="${IRN_SERVER_ARGS:-}"
    IRN_ACTOR_ARGS="${IRN_ACTOR_ARGS:-}"
    IRN_REMOTE_DIR="${IRN_REMOTE_DIR:-$PWD}"
    IRN_STOP_TIMEOUT="${IRN_STOP_TIMEOUT:-30}"
    [[ -x "$IRN_BIN/irn-server" ]] || die "$IRN_BIN/irn-server not found: build first (swift build -c release) or set IRN_BIN"
    mkdir -p "$IRN_RUN_DIR/actors" "$IRN_RUN_DIR/logs" "$IRN_RUN_DIR/remote"
}

server_endpoint() { echo "tcp://$IRN_SERVER_ADDR:$IRN_PORT"; }

# irn-server's mode flags for IRN_ALGO: the self-test has a flag of its own, the algorithms
# take --algo. (Word-split on purpose by the callers: $(server_mode_args).)
server_mode_args() {
    case "$IRN_ALGO" in
        visit-count | self-test) echo "--self-test" ;;
        *) echo "--algo $IRN_ALGO" ;;
    esac
}

# Slurm: the address other nodes reach NODE at (its NodeAddr; the name when none is set).
slurm_node_addr() {
    local addr
    addr=$(scontrol show node "$1" 2>/dev/null | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2) || true
    echo "${addr:-$1}"
}

# Slurm: CPUs per node for a step using the whole allocation: --cpus-per-task when given,
# else the smallest per-node count of the job (SLURM_JOB_CPUS_PER_NODE, e.g. "4(x2),2").
slurm_cpus_per_node() {
    if [[ -n "${SLURM_CPUS_PER_TASK:-}" ]]; then echo "$SLURM_CPUS_PER_TASK"; return; fi
    local min="" n
    for n in $(tr ',' ' ' <<<"${SLURM_JOB_CPUS_PER_NODE:-${SLURM_CPUS_ON_NODE:-1}}"); do
        n="${n%%(*}"
        [[ -z "$min" || "$n" -lt "$min" ]] && min="$n"
    done
    echo "${min:-1}"
}

# Slurm: one irn-actor per node of the job (in the background; the step's srun pid is in $!).
# --overlap: the first node's CPUs also belong to the server step (Slurm 21.08+ would
# otherwise hold this step until the server ends). Args: ENDPOINT CPUS.
slurm_start_actors() {
    local endpoint="$1" cpus="$2" nodes="$SLURM_JOB_NUM_NODES"
    local data_arg=()
    [[ -n "$IRN_DATA" ]] && data_arg=(--data "$IRN_DATA")
    # shellcheck disable=SC2016,SC2086
    srun --overlap --job-name=irn-actors --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 --cpus-per-task="$cpus" \
        --kill-on-bad-exit=0 --output="$IRN_RUN_DIR/logs/actor-%j-%N-%t.log" \
        bash -c 'exec "$0" --server "$1" --id "$(hostname -s)-$SLURM_JOB_ID.$SLURM_PROCID" "${@:2}"' \
        "$IRN_BIN/irn-actor" "$endpoint" "${data_arg[@]}" $IRN_ACTOR_ARGS --threads "$cpus" &
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# Names of local actors whose process is alive (oldest first).
live_local_actors() {
    local f pid
    for f in $(ls -tr "$IRN_RUN_DIR"/actors/*.pid 2>/dev/null); do
        pid=$(cat "$f")
        if alive "$pid"; then basename "$f" .pid; else rm -f "$f"; fi
    done
}

# Starts "$@" in the background with output to LOG, detached from every inherited file
# descriptor but 0-2 (a long-running daemon must not keep its launcher's pipes open).
# The pid is in $! afterwards.
spawn() {
    local logfile="$1"; shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd="${fd##*/}"
            [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)) && eval "exec $fd>&-"
        done
        exec nohup "$@" </dev/null >"$logfile" 2>&1
    ) &
}

start_local_actor() {
    local name="$1"
    local data_arg=()
    [[ -n "$IRN_DATA" ]] && data_arg=(--data "$IRN_DATA")
    # shellcheck disable=SC2086
    spawn "$IRN_RUN_DIR/logs/$name.log" "$IRN_BIN/irn-actor" --server "$(server_endpoint)" --id "$name" "${data_arg[@]}" $IRN_ACTOR_ARGS
    echo $! >"$IRN_RUN_DIR/actors/$name.pid"
    log "actor $name started (pid $!)"
}

# Sends SIGTERM and waits up to $2 seconds; SIGKILL after that (with a message).
stop_pid() {
    local pid="$1" timeout="$2" what="$3" i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        alive "$pid" || { log "$what stopped"; return 0; }
        sleep 0.1
    done
    log "$what did not stop within ${timeout}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Slurm: SIGTERM to this job's steps named NAME, through slurmd. Not `kill -TERM <srun pid>`:
# srun answers TERM with SIGKILL to its tasks, so nobody would checkpoint or leave.
slurm_term_steps() {
    local ids
    ids=$(squeue -h -s -j "$SLURM_JOB_ID" -o '%i %j' 2>/dev/null | awk -v n="$1" '$2 == n { print $1 }') || true
    # shellcheck disable=SC2086
    [[ -z "$ids" ]] || scancel --signal=TERM $ids 2>/dev/null || true
}
