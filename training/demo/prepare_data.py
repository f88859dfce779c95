#!/usr/bin/env python3
"""Prepares the demo model's training data from Debian's King James Bible.

Steps (all deterministic):
  1. `bible "Gen1:1-Rev22:21"` prints the whole text (Debian packages bible-kjv + bible-kjv-text),
     wrapped at 80 columns with verse numbers.
  2. Verses are unwrapped to one per line without their numbers; each chapter starts with its
     heading line ("Genesis 1"). Chapters are the unit of the train/validation split: every 20th
     chapter (index % 20 == 7) is held out, so validation text is never seen in training.
  3. Debian's spm_train learns a 4096-piece SentencePiece BPE tokenizer on the training text,
     Llama-2 style: byte fallback, identity normalization, a dummy prefix space.
  4. spm_encode turns both splits into token ids (uint16 little-endian, <s> before each chapter).

Usage: prepare_data.py OUT_DIR      (writes kjv_train.txt, kjv_val.txt, tokenizer.model,
                                     train.bin, val.bin into OUT_DIR)
"""
import os
import re
import subprocess
import sys

VOCAB_SIZE = 4096
HOLDOUT_EVERY, HOLDOUT_AT = 20, 7


def chapters():
    raw = subprocess.run(["bible", "Gen1:1-Rev22:21"], check=True, capture_output=True, text=True).stdout
    heading = re.compile(r"^([1-3]?\s?[A-Z][A-Za-z ]+) (\d+)$")
    verse_start = re.compile(r"^\s+\d+ (.*)$")
    chapter, verses = None, []
    for line in raw.splitlines():
        if not line.strip():
            continue
        m = heading.match(line)
        if m:
            if chapter:
                yield chapter, verses
            chapter, verses = line.strip(), []
            continue
        m = verse_start.match(line)
        if m:
            verses.append(m.group(1).strip())
        elif verses:
            verses[-1] += " " + line.strip()   # continuation of a wrapped verse
        else:
            raise SystemExit(f"unexpected line before the first verse: {line!r}")
    if chapter:
        yield chapter, verses


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    train, val = [], []
    for i, (heading, verses) in enumerate(chapters()):
        text = heading + "\n" + "\n".join(verses) + "\n"
        (val if i % HOLDOUT_EVERY == HOLDOUT_AT else train).append(text)
    print(f"{len(train)} training chapters, {len(val)} held-out chapters", file=sys.stderr)
    for name, part in (("kjv_train.txt", train), ("kjv_val.txt", val)):
        with open(os.path.join(out, name), "w") as f:
            f.write("\x1e".join(part))   # chapter separator; never in the text itself

    # One line per verse for the tokenizer trainer (it reads sentences line by line).
    spm_input = os.path.join(out, "spm_input.txt")
    with open(spm_input, "w") as f:
        f.write("".join(train))
    subprocess.run(["spm_train", f"--input={spm_input}", f"--model_prefix={os.path.join(out, 'tokenizer')}",
                    "--model_type=bpe", f"--vocab_size={VOCAB_SIZE}", "--character_coverage=1.0",
                    "--byte_fallback=true", "--normalization_rule_name=identity",
                    "--remove_extra_whitespaces=false", "--split_digits=true", "--add_dummy_prefix=true",
                    "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1", "--num_threads=2",
                    "--minloglevel=1"], check=True)
    os.remove(spm_input)

    import array
    for split, part in (("train", train), ("val", val)):
        ids = array.array("H")
        for text in part:
            # spm_encode reads line by line; encode verse by verse and join with the newline byte piece.
            enc = subprocess.run(["spm_encode", f"--model={os.path.join(out, 'tokenizer.model')}",
                                  "--output_format=id"], input=text, check=True, capture_output=True,
                                 text=True).stdout.splitlines()
            ids.append(1)  # <s>
            newline = 3 + 0x0A  # byte-fallback piece <0x0A>: ids 3..258 are the 256 bytes
            for line in enc:
                ids.extend(int(t) for t in line.split())
                ids.append(newline)
        with open(os.path.join(out, f"{split}.bin"), "wb") as f:
            ids.tofile(f)
        print(f"{split}: {len(ids)} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
