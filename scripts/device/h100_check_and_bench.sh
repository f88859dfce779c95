#!/usr/bin/env bash
# One call on the device machine (NVIDIA H100, see ../.library/device): checks the GPU variants
# CI cannot run (shader-f16, subgroups of 32) and measures. Run from the repository root with the
# binaries built here carried in .devbin/ (wgllm, the GPU test binaries, libwebgpu_wrapper.so, and
# libcpp-httplib.so.0.11 + libbrotli*.so.1, which the device image lacks; 64 MiB travel at most, so
# carry them as one .devpack/devbin.tar.xz and unpack it first) and Debian's libvulkan1, libglvnd0,
# libegl1, libgl1, libglx0, libgles2 and libopengl0 .debs in .gl/ (the H200 machines' NVIDIA ICD
# needs libglvnd; libvulkan1 alone served the H100). scripts/device/sweep.sh A/B-tests knobs after. Everything lands in $OUT (at most 8 files come back):
#   log.txt      every command's output, in order
#   info.json    wgllm info --json
#   bench.json / bench.md / kernels.txt   the measurements
# Usage: scripts/device/h100_check_and_bench.sh [tests|bench|all] [bench arguments...]
set -uo pipefail
mode=${1:-all}
shift || true
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
# The NVIDIA ICD manifest lives outside the loader's default paths on the device image.
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export WGLLM_WEBGPU_LIB=${WGLLM_WEBGPU_LIB:-$PWD/.devbin/libwebgpu_wrapper.so}
# cpp-httplib (and brotli) travel in .devbin: the device image lacks them.
export LD_LIBRARY_PATH=$PWD/.devbin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export WGLLM_CACHE=/tmp/wgllm-models
mkdir -p "$WGLLM_CACHE"
B=$PWD/.devbin
log=$OUT/log.txt
step() { echo "== $*" | tee -a "$log"; }
run() { step "$*"; "$@" >>"$log" 2>&1; local rc=$?; echo "   rc=$rc" | tee -a "$log"; return $rc; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv >>"$log" 2>&1
run "$B/wgllm" info
"$B/wgllm" info --json >"$OUT/info.json" 2>>"$log"

if [ "$mode" = tests ] || [ "$mode" = all ]; then
  for t in "$B"/*_test; do
    run timeout 240 "$t" --gtest_brief=1
  done
fi

if [ "$mode" = bench ] || [ "$mode" = all ]; then
  run "$B/wgllm" make-model --preset llama3-8b --quant Q4_0 -o "$WGLLM_CACHE/llama3-8b-Q4_0.gguf"
  run "$B/wgllm" run -m "$WGLLM_CACHE/llama3-8b-Q4_0.gguf" -p "The capital of France is" -n 64 --temp 0 --ctx 1024
  step "kernels"
  "$B/wgllm" bench --kernels -m llama3-8b --quant Q4_0 >"$OUT/kernels.txt" 2>>"$log"
  tail -40 "$OUT/kernels.txt" | tee -a "$log"
  run "$B/wgllm" bench "$@" --json "$OUT/bench.json" --md "$OUT/bench.md"
  tail -20 "$OUT/bench.md" 2>/dev/null
fi
