#!/usr/bin/env bash
# Issue 5's server benchmark, release build: `irn bench server --actors 8` (paper-scale IRN-P
# gradients from 8 simulated actors over loopback) RUNS times back to back, one JSON per run.
# Read applications_per_server_core_s (what one dedicated server core sustains) beside the
# wall-clock applications_per_s (bounded on a small machine by the actors sharing its cores).
# Output: docs/results/server-speed/. Environment: IRN (default .build/release/irn), RUNS (3),
# SECONDS_PER_RUN (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
IRN=${IRN:-.build/release/irn}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-10}
RES=docs/results/server-speed
[ -x "$IRN" ] || { echo "build first: swift build -c release --product irn" >&2; exit 1; }
mkdir -p "$RES"
: > "$RES/commands.txt"
for i in $(seq 1 "$RUNS"); do
    echo "irn bench server --actors 8 --seconds $SECS --json > $RES/run$i.json" >> "$RES/commands.txt"
    "$IRN" bench server --actors 8 --seconds "$SECS" --json > "$RES/run$i.json"
done
python3 - "$RES" <<'PY'
import json, glob, sys
rows = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/run*.json"))]
for k in ["applications_per_s", "applications_per_server_core_s", "server_loop_cpu_ms_per_application",
          "staleness_median", "staleness_p95", "weight_bytes_per_update_per_subscriber", "push_bytes"]:
    print(f"{k:40s}", " ".join(str(r[k]) for r in rows))
PY
