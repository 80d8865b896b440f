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
