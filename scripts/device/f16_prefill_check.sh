#!/usr/bin/env bash
# One device call for the f16 tensor-core prefill (docs/perf-notes.md #37): correctness first, then
# the A/B against the int8 GEMM and the tile presets, then llama.cpp on the same file, each step
# under a time guard so the call ends inside its 10 minutes with what it has. llama.cpp's CUDA
# build (~5 minutes on 16 cores) and the model file are made in the background during the tests.
# Needs what scripts/device/h100_check_and_bench.sh and scripts/device/vs_llamacpp.sh need (.devpack,
# .gl, .anchors: without it, no llama.cpp). Usage: [QUICK=1] scripts/device/f16_prefill_check.sh [SWEEP SETTINGS...]
set -uo pipefail
. scripts/device/h100_check_and_bench.sh setup
# The newer Dawn (its f16 toggles set by wgllm) and the f16 GEMM, both opt-in until measured.
export WGLLM_WEBGPU_LIB=$PWD/third_party/dawn/dawn.node WGLLM_GEMM_F16=1
"$B/wgllm" info >>$OUT/log.txt 2>&1
M=$WGLLM_CACHE
LLAMACPP_BUILD_PID=
if [ -d .anchors ]; then
  nice -n 10 bash scripts/device/vs_llamacpp.sh build >$OUT/anchors-build.txt 2>&1 &
  LLAMACPP_BUILD_PID=$!
fi
( "$B/wgllm" make-model --preset llama3-8b --quant Q4_0 -o $M/llama3-8b-Q4_0.gguf >/tmp/make-model.log 2>&1 ) &
make_pid=$!
grep -iE "f16|matrix|library|adapter|device" $OUT/log.txt | head -12
run timeout 150 "$B/kernels_matmul_test" --gtest_brief=1 --gtest_filter='*F16Gemm*:*Int8Gemm*'
WGLLM_GEMM_F16_DECODE_F32=1 run timeout 60 "$B/kernels_matmul_test" --gtest_brief=1 --gtest_filter='*F16Gemm*'
run timeout 150 "$B/runtime_test" --gtest_brief=1
# The other GPU tests on the f16 path (the f16 kernels had never run on a GPU before); QUICK=1
# leaves them out when the call must be short.
if [ "${QUICK:-0}" != 1 ]; then
  for t in "$B"/kernels_*_test "$B"/gpu_test; do
    [ "$t" = "$B/kernels_matmul_test" ] || run timeout 40 "$t" --gtest_brief=1
  done
fi
grep -E "Failure|rror:|note|Expected|Which is|FAILED" $OUT/log.txt | head -30
wait $make_pid
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=("WGLLM_GEMM_F16=0" "" "WGLLM_GEMM_F16=0 WGLLM_WEBGPU_LIB=$PWD/third_party/dawn/libwebgpu_wrapper.so" "WGLLM_GEMM_F16_TILE=3" "WGLLM_GEMM_F16_TILE=5"
  "WGLLM_GEMM_F16_TILE=4" "WGLLM_GEMM_F16_TILE=6" "WGLLM_GEMM_F16_DECODE_F32=1")
timeout 160 env B="$B" bash scripts/device/sweep.sh $M/llama3-8b-Q4_0.gguf "-p 512 -n 16 -r 2" "${settings[@]}"
grep -h "load" /tmp/sweep-2.log | head -2
timeout 40 "$B/wgllm" bench --kernels -m $M/llama3-8b-Q4_0.gguf -p 512 >$OUT/kernels.txt 2>&1
grep -iE "matmat|pack_x|attention|prefill" $OUT/kernels.txt | head -12
# llama.cpp beside, if its build has finished by now (a call's time is short: never wait for it).
if [ -n "$LLAMACPP_BUILD_PID" ] && ! kill -0 "$LLAMACPP_BUILD_PID" 2>/dev/null; then
  LLAMACPP_BUILD_PID=$LLAMACPP_BUILD_PID timeout 120 bash scripts/device/vs_llamacpp.sh "-p 512 -n 64 -r 3" $M/llama3-8b-Q4_0.gguf
else
  echo "llama.cpp's build had not finished: no side-by-side in this call"
fi
true
