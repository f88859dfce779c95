#!/usr/bin/env bash
# A/B sweep of tuning knobs in one device call: runs `wgllm bench` once per setting (a list of
# environment assignments) on the same model and prints one line per setting, the baseline first.
# Run after scripts/device/h100_check_and_bench.sh has set up the driver (or with the same
# environment). Every report lands in $OUT/sweep-<n>.json; the table in $OUT/sweep.txt.
# Usage: scripts/device/sweep.sh MODEL "BENCH ARGS" "SETTING" ["SETTING" ...]
#   e.g. scripts/device/sweep.sh $WGLLM_CACHE/llama3-8b-Q4_0.gguf "-p 16 -n 64 -r 1" "" "WGLLM_QOUT_UN=1"
set -uo pipefail
model=$1
args=$2
shift 2
B=${B:-$PWD/.devbin}
table=$OUT/sweep.txt
n=0
for setting in "$@"; do
  n=$((n + 1))
  json=/tmp/sweep-$n.json
  # shellcheck disable=SC2086 # the setting and the arguments are word lists on purpose
  env $setting "$B/wgllm" bench -m "$model" $args --json "$json" >/tmp/sweep-$n.log 2>&1
  rc=$?
  line=$(python3 - "$json" "$rc" "${setting:-baseline}" <<'EOF'
import json, sys
path, rc, name = sys.argv[1:4]
try:
    rows = json.load(open(path))["rows"]
except Exception:
    print(f"{name:60s} FAILED (rc {rc})")
    sys.exit()
for r in rows:
    print(f"{name:60s} p{r['prompt_tokens']:<4d} decode {r['decode_tok_s']['median']:8.1f} tok/s  "
          f"prefill {r['prefill_tok_s']['median']:9.1f} tok/s  p50 {r['p50_ms']['median']:.3f} ms")
EOF
)
  echo "$line" | tee -a "$table"
  [ "$rc" = 0 ] || tail -5 /tmp/sweep-$n.log | tee -a "$table"
done
