#!/usr/bin/env bash
# ctest `browser_test` (label browser): the chat and benchmark pages in headless Chromium against
# the native CLI on the same tiny model. Builds the web bundle first when it is missing.
#   browser_test.sh <wgllm CLI> <source root>
set -euo pipefail
cli=$1
root=$2
bundle=${WGLLM_WEB_BUILD_DIR:-$root/build-web}/web
if [ ! -f "$bundle/wgllm.wasm" ] || [ ! -f "$bundle/index.html" ]; then
  "$root/scripts/build-web"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt="Once upon a time"
n=12
"$cli" make-model --preset tiny-llama -o "$tmp/tiny.gguf" >/dev/null
"$cli" run -m "$tmp/tiny.gguf" -p "$prompt" -n "$n" --temp 0 >"$tmp/native.txt" 2>"$tmp/native.err"
tail -n 2 "$tmp/native.err" >&2
"$cli" run -m "$tmp/tiny.gguf" -p "$prompt" -n "$n" --temp 0 --chat >"$tmp/native-chat.txt" 2>/dev/null
# The shipped demo model (trained weights, F16): real text, same greedy tokens in the browser.
demo="$root/models/demo-kjv-12m-f16.gguf"
"$cli" run -m "$demo" -p "In the beginning" -n 12 --temp 0 >"$tmp/demo.txt" 2>/dev/null
node "$root/web/playwright/browser_test.mjs" --bundle "$bundle" --model "$tmp/tiny.gguf" --native "$tmp/native.txt" \
  --native-chat "$tmp/native-chat.txt" --demo "$demo" --demo-native "$tmp/demo.txt" \
  --prompt "$prompt" --n "$n" --schema "$root/src/bench/schema.json"
