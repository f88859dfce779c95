#!/usr/bin/env bash
# One call on the device machine (PyTorch and transformers there): makes the converter's Hugging
# Face fixtures and trains the demo model. Run from the repository root with the prepared data in
# .devdata/ (training/demo/prepare_data.py's output plus prompts.json). Results come back as
#   $OUT/hf_fixtures.tgz  (tests/data/hf/)      $OUT/demo.tgz.aa, .ab, ... (the checkpoint + reference.json)
#   $OUT/fixtures.log  $OUT/train.log
set -uo pipefail
export PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import torch, transformers, sentencepiece, tokenizers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
mkdir -p /tmp/fx /tmp/demo
python3 scripts/device/make_hf_fixtures.py /tmp/fx .devdata/kjv_val.txt 2>&1 | tee "$OUT/fixtures.log" | grep -v '^{' | tail -60
tar czf "$OUT/hf_fixtures.tgz" -C /tmp/fx .
python3 training/demo/train.py .devdata /tmp/demo 2>&1 | tee "$OUT/train.log"
# Files come back at most 16 MiB each: the checkpoint travels in pieces (cat demo.tgz.* | tar xz).
tar czf - -C /tmp/demo . | split -b 15M - "$OUT/demo.tgz."
ls -la /tmp/demo /tmp/demo/hf
