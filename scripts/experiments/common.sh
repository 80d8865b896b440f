# Shared by the experiment scripts (sourced, not run): the release binary check, the command
# log that docs/results/*/commands.txt is made of, and the real sample prepared as every
# experiment on it uses it (--days 0 --test-days 14 --valid-days 7).
# Expects: IRN (binary), CMDS (command log), the repository root as working directory.

# The shared data beside the repository (holding yoochoose-1pct/), unless IRN_SHARED_DATA says.
SHARED=${IRN_SHARED_DATA:-$(cd .. && pwd)/shared/data}

require_irn() {
    [ -x "$IRN" ] || { echo "build first: swift build -c release --product irn" >&2; exit 1; }
}

# compact_json SRC DST: a training log as one sorted JSON line (what runs/*.log.json hold).
compact_json() {
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)' "$1" "$2"
}

# Appends a command to the log, with the binary's path shown as `irn`.
log_cmd() { echo "$*" | sed "s#^$IRN #irn #" >> "$CMDS"; }

# prepare_real_sample DIR: prepares the sample into DIR once, logging the command once.
prepare_real_sample() {
    local cmd=("$IRN" data prepare --clicks "$SHARED/yoochoose-1pct/yoochoose-clicks.dat.gz"
               --buys "$SHARED/yoochoose-1pct/yoochoose-buys.dat.gz" --out "$1" --days 0 --test-days 14 --valid-days 7)
    grep -qF "data prepare" "$CMDS" 2>/dev/null || log_cmd "${cmd[*]}"
    [ -f "$1/dataset.json" ] || "${cmd[@]}"
}
