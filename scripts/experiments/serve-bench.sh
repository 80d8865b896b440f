#!/usr/bin/env bash
# Issue 13's serving benchmark: `irn bench serve` (release build, paper scale: 9167 items,
# H 256) against the real `irn serve` binary over loopback HTTP, measured by irn's own
# keep-alive load generator and by wrk (installed here from Debian when missing).
# Output: docs/results/serve-bench/. Environment: IRN (default .build/release/irn),
# SECONDS_PER_PHASE (10), EXTRA (more `irn bench serve` flags, e.g. "--blas-threads 2"),
# COMPARE (1: also the 64-client phases against --scoring sgemm in the same run; 0: not).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
SECS=${SECONDS_PER_PHASE:-10}
EXTRA=${EXTRA:-}
[ "${COMPARE:-1}" = "1" ] && EXTRA="--compare-sgemm $EXTRA"
RES=docs/results/serve-bench
if ! command -v wrk >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get install -y -qq --no-install-recommends wrk >/dev/null || echo "wrk could not be installed: own load generator only" >&2
    fi
fi
[ -x "$IRN" ] || swift build -c release --product irn
mkdir -p "$RES"
name="run-$(date -u +%Y%m%dT%H%M%SZ)"
echo "uptime before: $(uptime)" > "$RES/$name.txt"
# shellcheck disable=SC2086
"$IRN" bench serve --seconds "$SECS" $EXTRA | tee "$RES/$name.json"
echo "irn bench serve --seconds $SECS $EXTRA" >> "$RES/$name.txt"
echo "uptime after: $(uptime)" >> "$RES/$name.txt"
