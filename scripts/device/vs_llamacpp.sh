#!/usr/bin/env bash
# wgllm against llama.cpp on the same GGUF files, in one device call: `wgllm bench` and llama.cpp's
# CUDA `llama-bench` and Vulkan build (../shared/anchors, carried as .anchors/ with the Vulkan
# libraries of npm @node-llama-cpp/linux-x64-vulkan@3.22.1 packed as .anchors/vulkan-bins.tar.xz)
# on each file, then one side-by-side table with the ratios.
# Run after scripts/device/h100_check_and_bench.sh's setup (driver, .devbin, third_party/dawn), as
#   scripts/device/vs_llamacpp.sh "-p 512,4096 -n 128 -r 3" FILE.gguf...
# Writes $OUT/vs-llamacpp.md (the table), $OUT/wgllm-<stem>.json / .md (wgllm's reports) and
# $OUT/llamacpp.json (llama.cpp's numbers). Set LLAMACPP_BUILD_PID to wait for a build started
# earlier in the call (`scripts/device/vs_llamacpp.sh build &`), e.g. during the correctness tests.
set -uo pipefail
B=${B:-$PWD/.devbin}
A=/tmp/anchors
build_anchors() {
  mkdir -p $A/vulkan/bins
  tar -xJf .anchors/vulkan-bins.tar.xz -C $A/vulkan/bins --strip-components=1
  bash .anchors/build.sh cuda $A >$A/build-cuda.log 2>&1 || echo "llama.cpp CUDA build failed: $A/build-cuda.log" >&2
  bash .anchors/build.sh vulkan $A >$A/build-vulkan.log 2>&1 || echo "llama.cpp Vulkan build failed: $A/build-vulkan.log" >&2
}
if [ "${1:-}" = build ]; then build_anchors; exit; fi
args=$1
shift
if [ -n "${LLAMACPP_BUILD_PID:-}" ]; then
  while kill -0 "$LLAMACPP_BUILD_PID" 2>/dev/null; do sleep 2; done
else
  build_anchors
fi
cuda=$A/cuda/bin/llama-bench
vulkan=$A/vulkan/llama_driver
# The prompt lengths and generation of the wgllm arguments, for llama.cpp's runs.
pp=$(echo "$args" | sed -n 's/.*-p \([0-9,]*\).*/\1/p')
tg=$(echo "$args" | sed -n 's/.*-n \([0-9]*\).*/\1/p')
reps=$(echo "$args" | sed -n 's/.*-r \([0-9]*\).*/\1/p')
echo "[" >$OUT/llamacpp.json
sep=""
for f in "$@"; do
  stem=$(basename "$f" .gguf)
  # shellcheck disable=SC2086 # the arguments are a word list
  "$B/wgllm" bench -m "$f" $args --json "$OUT/wgllm-$stem.json" --md "$OUT/wgllm-$stem.md" >>$OUT/log.txt 2>&1 ||
    echo "wgllm bench failed on $f" | tee -a $OUT/log.txt
  if [ -x "$cuda" ]; then
    out=$("$cuda" -m "$f" -p "$pp" -n "$tg" -r "${reps:-3}" -ngl 99 -fa 1 -o json 2>>$OUT/log.txt)
    echo "$sep{\"file\": \"$stem\", \"backend\": \"cuda\", \"runs\": ${out:-[]}}" >>$OUT/llamacpp.json
    sep=","
  fi
  if [ -x "$vulkan" ]; then
    for p in ${pp//,/ }; do
      out=$(ORACLE_BINS=$A/vulkan/bins ORACLE_NGL=99 "$vulkan" "$f" bench "$p" "$tg" "${reps:-3}" 2>>$OUT/log.txt)
      echo "$sep{\"file\": \"$stem\", \"backend\": \"vulkan\", \"driver\": ${out:-null}}" >>$OUT/llamacpp.json
      sep=","
    done
  fi
done
echo "]" >>$OUT/llamacpp.json
python3 - "$OUT" "$@" <<'EOF'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
ll = json.load(open(os.path.join(out, "llamacpp.json")))
def fmt(v):
    return "n/a" if v is None else f"{v:,.0f}"
def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.2f}x"
lines = ["| file | measure | wgllm | llama.cpp CUDA | llama.cpp Vulkan | wgllm / CUDA | wgllm / Vulkan |",
         "|---|---|---:|---:|---:|---:|---:|"]
for f in files:
    stem = os.path.basename(f)[:-5]
    try:
        rows = json.load(open(os.path.join(out, f"wgllm-{stem}.json")))["rows"]
    except Exception:
        rows = []
    cuda = {}
    vk = {}
    for e in ll:
        if e["file"] != stem:
            continue
        if e["backend"] == "cuda":
            for r in e["runs"]:
                key = ("pp", r["n_prompt"]) if r["n_gen"] == 0 else ("tg", r["n_gen"])
                cuda[key] = r["avg_ts"]
        elif e.get("driver"):
            d = e["driver"]
            vk[("pp", d["pp"])] = d["pp_tok_s_median"]
            vk[("tg", d["tg"])] = d["tg_tok_s_median"]
    for r in rows:
        p, n = r["prompt_tokens"], r["gen_tokens"]
        w = r["prefill_tok_s"]["median"]
        lines.append(f"| {stem} | prefill @{p} tok/s (TTFT {r['ttft_ms']['median']:.0f} ms) | {fmt(w)} | "
                     f"{fmt(cuda.get(('pp', p)))} | {fmt(vk.get(('pp', p)))} | {ratio(w, cuda.get(('pp', p)))} | "
                     f"{ratio(w, vk.get(('pp', p)))} |")
    if rows:
        d = max(r["decode_tok_s"]["median"] for r in rows if r["prompt_tokens"] == rows[0]["prompt_tokens"])
        n = rows[0]["gen_tokens"]
        lines.append(f"| {stem} | decode tok/s (tg{n}) | {fmt(d)} | {fmt(cuda.get(('tg', n)))} | "
                     f"{fmt(vk.get(('tg', n)))} | {ratio(d, cuda.get(('tg', n)))} | {ratio(d, vk.get(('tg', n)))} |")
open(os.path.join(out, "vs-llamacpp.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
