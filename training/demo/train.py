#!/usr/bin/env python3
"""Trains wgllm's built-in demo model: a small Llama on the King James Bible.

Input: the folder prepare_data.py wrote (train.bin, val.bin: uint16 token ids; tokenizer.model;
prompts.json: token ids of a few prompts, from spm_encode). Output (OUT_DIR/hf): a Hugging Face
checkpoint (config.json, model.safetensors in float16, tokenizer.model, tokenizer_config.json) that
`wgllm convert` turns into the shipped GGUF, plus OUT_DIR/reference.json: held-out perplexity and,
for each prompt, the logits PyTorch computes (float32 arithmetic on the float16 weights, exactly
the numbers the GGUF holds) and its greedy continuation — the engine's tests compare against them.

Run on the device machine:  python3 training/demo/train.py DATA_DIR OUT_DIR
Every setting is below; the run is seeded (GPU kernels may still differ in the last bits).
"""
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

MODEL = dict(vocab_size=4096, hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
             num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=512,
             rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
             bos_token_id=1, eos_token_id=2, attention_dropout=0.1)
TRAIN = dict(seq_len=256, batch=64, max_steps=4000, lr=1e-3, min_lr=1e-4, warmup=100,
             weight_decay=0.1, grad_clip=1.0, eval_every=50, patience=8, seed=1234,
             time_budget_s=300)
GREEDY_TOKENS = 48


def batches(data, rng, seq_len, batch):
    starts = rng.integers(0, len(data) - seq_len - 1, size=batch)
    x = np.stack([data[s:s + seq_len + 1] for s in starts]).astype(np.int64)
    return torch.from_numpy(x).cuda()


@torch.no_grad()
def mean_loss(model, data, seq_len, autocast=True):
    """Mean next-token loss over the whole split in non-overlapping windows."""
    model.eval()
    n = (len(data) - 1) // seq_len
    windows = np.stack([data[i * seq_len:(i + 1) * seq_len + 1] for i in range(n)]).astype(np.int64)
    total, count = 0.0, 0
    for i in range(0, n, 64):
        x = torch.from_numpy(windows[i:i + 64]).cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x[:, :-1]).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                                 reduction="sum")
        total += loss.item()
        count += x[:, 1:].numel()
    model.train()
    return total / count


def lr_at(step):
    if step < TRAIN["warmup"]:
        return TRAIN["lr"] * (step + 1) / TRAIN["warmup"]
    t = (step - TRAIN["warmup"]) / max(1, TRAIN["max_steps"] - TRAIN["warmup"])
    return TRAIN["min_lr"] + 0.5 * (TRAIN["lr"] - TRAIN["min_lr"]) * (1 + math.cos(math.pi * min(1.0, t)))


def main():
    data_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(TRAIN["seed"])
    rng = np.random.default_rng(TRAIN["seed"])
    train = np.fromfile(os.path.join(data_dir, "train.bin"), dtype="<u2")
    val = np.fromfile(os.path.join(data_dir, "val.bin"), dtype="<u2")
    model = AutoModelForCausalLM.from_config(LlamaConfig(**MODEL), attn_implementation="sdpa").cuda()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params / 1e6:.2f}M parameters; {len(train)} training and {len(val)} held-out tokens", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": TRAIN["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=TRAIN["lr"], betas=(0.9, 0.95),
                            fused=True)
    log, best, best_state, bad_evals = [], float("inf"), None, 0
    start = time.time()
    for step in range(TRAIN["max_steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x = batches(train, rng, TRAIN["seq_len"], TRAIN["batch"])
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x[:, :-1]).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["grad_clip"])
        opt.step()
        last = step + 1 == TRAIN["max_steps"] or time.time() - start > TRAIN["time_budget_s"]
        if (step + 1) % TRAIN["eval_every"] == 0 or last:
            v = mean_loss(model, val, TRAIN["seq_len"])
            log.append({"step": step + 1, "train_loss": loss.item(), "val_loss": v, "seconds": time.time() - start})
            print(json.dumps(log[-1]), flush=True)
            if v < best:
                best, bad_evals = v, 0
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
            else:
                bad_evals += 1
            if bad_evals >= TRAIN["patience"]:
                print("held-out loss stopped improving", flush=True)
                break
        if last:
            break

    # Ship float16 weights; the reference numbers below use exactly those weights in float32.
    model.load_state_dict(best_state)
    model = model.half().float().eval()
    fp32_val = mean_loss(model, val, TRAIN["seq_len"], autocast=False)
    hf = os.path.join(out, "hf")
    model.half().save_pretrained(hf)
    model.float()
    shutil.copy(os.path.join(data_dir, "tokenizer.model"), hf)
    with open(os.path.join(hf, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                   "add_eos_token": False, "model_max_length": MODEL["max_position_embeddings"]}, f, indent=1)

    model = LlamaForCausalLM.from_pretrained(hf, attn_implementation="eager", dtype=torch.float32).cuda().eval()
    prompts = json.load(open(os.path.join(data_dir, "prompts.json")))
    refs = []
    with torch.no_grad():
        torch.backends.cuda.matmul.allow_tf32 = False
        for p in prompts:
            ids = torch.tensor([p["ids"]]).cuda()
            logits = model(ids).logits[0].float().cpu().numpy()
            seq = list(p["ids"])
            for _ in range(GREEDY_TOKENS):
                nxt = int(model(torch.tensor([seq]).cuda()).logits[0, -1].argmax())
                seq.append(nxt)
            name = p["name"]
            logits.astype("<f4").tofile(os.path.join(out, f"logits_{name}.f32"))
            refs.append({"name": name, "text": p["text"], "ids": p["ids"], "logits": f"logits_{name}.f32",
                         "greedy": seq[len(p["ids"]):]})
    result = {"model": MODEL, "train": TRAIN, "parameters": n_params, "log": log,
              "best_val_loss_bf16": best, "val_loss_fp32_f16_weights": fp32_val,
              "val_perplexity": math.exp(fp32_val), "val_tokens": int(len(val)), "prompts": refs,
              "torch": torch.__version__}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"held-out perplexity {math.exp(fp32_val):.2f}", flush=True)


if __name__ == "__main__":
    main()
