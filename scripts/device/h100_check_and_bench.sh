#!/usr/bin/env bash
# One call on the device machine (NVIDIA H100, see ../.library/device): checks the GPU variants
# CI cannot run (shader-f16, f16 subgroup matrices, subgroups of 32) and measures. Run from the
# repository root with .devpack/devbin.tar.xz made by scripts/device/pack.sh (WGLLM_PACK_DAWN_NODE=1:
# wgllm, the GPU test binaries, both Dawns, the Node-API stand-ins, cpp-httplib and brotli, which
# the device image lacks) and Debian's libvulkan1, libglvnd0, libegl1, libgl1, libglx0, libgles2
# and libopengl0 .debs in .gl/ (the H200 machines' NVIDIA ICD needs libglvnd). The Dawns go to
# third_party/dawn/ (WGLLM_WEBGPU_LIB=third_party/dawn/dawn.node: the newer Dawn, whose f16
# toggles wgllm sets itself).
# scripts/device/sweep.sh A/B-tests knobs after; scripts/device/vs_llamacpp.sh runs llama.cpp beside.
# Everything lands in $OUT (at most 8 files come back):
#   log.txt      every command's output, in order
#   info.json    wgllm info --json
#   bench.json / bench.md / kernels.txt   the measurements
# Usage: scripts/device/h100_check_and_bench.sh [setup|tests|tests-bundled|bench|all] [bench arguments...]
#   tests: the GPU tests on the Dawn WGLLM_WEBGPU_LIB names (default: the bundled one); tests-bundled:
#   on the bundled Dawn whatever is set; setup: only the driver and binaries (source it to keep the env).
set -uo pipefail
mode=${1:-all}
shift || true
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
[ -d .devbin ] || tar -xJf .devpack/devbin.tar.xz
mkdir -p third_party/dawn
cp .devbin/libwebgpu_wrapper.so third_party/dawn/
[ -f .devbin/dawn.node ] && cp .devbin/dawn.node third_party/dawn/
# The NVIDIA ICD manifest lives outside the loader's default paths on the device image.
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
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

[ "$mode" = setup ] && { return 0 2>/dev/null || exit 0; }
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  for t in "$B"/*_test; do
    run timeout 240 "$t" --gtest_brief=1
  done
fi
if [ "$mode" = tests-bundled ]; then
  for t in "$B"/*_test; do
    WGLLM_WEBGPU_LIB=$PWD/third_party/dawn/libwebgpu_wrapper.so run timeout 240 "$t" --gtest_brief=1
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
