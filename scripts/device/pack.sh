#!/usr/bin/env bash
# Packs what a device call needs from this machine's build into .devpack/devbin.tar.xz (one file
# to carry, under the 64 MiB that travel): build/wgllm, the GPU test binaries, Dawn's
# libwebgpu_wrapper.so, and cpp-httplib and brotli, which the device image lacks. On the device,
# unpack it (`tar -xJf .devpack/devbin.tar.xz`: it makes .devbin/) before
# scripts/device/h100_check_and_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .devbin && mkdir -p .devbin .devpack
cp build/wgllm build/src/gpu/gpu_test build/src/kernels/kernels_*_test build/src/runtime/runtime_test \
  build/libwgllm_node_api_stubs.so third_party/dawn/libwebgpu_wrapper.so .devbin/
# The newer Dawn (dawn.node, 21 MB, ~6 MB packed) only when asked: WGLLM_PACK_DAWN_NODE=1.
if [ "${WGLLM_PACK_DAWN_NODE:-0}" = 1 ]; then cp third_party/dawn/dawn.node .devbin/; fi
cp -L /lib/x86_64-linux-gnu/libcpp-httplib.so.0.11 /lib/x86_64-linux-gnu/libbrotli{common,dec,enc}.so.1 .devbin/
tar -cJf .devpack/devbin.tar.xz .devbin
echo "packed $(git rev-parse --short HEAD)$(git diff --quiet || echo +changes): $(du -h .devpack/devbin.tar.xz | cut -f1)"
