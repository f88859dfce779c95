#!/usr/bin/env python3
"""Makes tests/data/hf/: tiny random Hugging Face checkpoints of each family the converter supports,
saved by transformers itself, plus the logits transformers computes for a fixed token list.

The converter's test (src/convert) converts each folder to GGUF, runs the engine's CPU reference and
compares with these logits: the independent check that tensor names, Q/K layouts, norm offsets, RoPE
scaling and softcaps are handled as transformers defines them.

Run on the device machine (transformers 5.x, sentencepiece, tokenizers there):
    python3 scripts/device/make_hf_fixtures.py OUT_DIR TEXT_FILE
TEXT_FILE is any prose (the demo's KJV text) to train the tiny tokenizers on.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

VOCAB = 512
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

# name -> (model_type, extra config, tokenizer kind, dtype to save, max shard size)
FAMILIES = {
    "llama3": ("llama", dict(rope_theta=500000.0, tie_word_embeddings=False,
                             rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                               high_freq_factor=4.0, original_max_position_embeddings=64)),
               "bpe", torch.float32, None),
    "mistral": ("mistral", dict(rope_theta=10000.0, tie_word_embeddings=False, sliding_window=None),
                "spm", torch.bfloat16, None),
    "qwen2": ("qwen2", dict(rope_theta=1000000.0, tie_word_embeddings=True), "bpe", torch.float32, "100KB"),
    "qwen3": ("qwen3", dict(rope_theta=1000000.0, head_dim=16, tie_word_embeddings=False), "bpe",
              torch.float16, None),
    "phi3": ("phi3", dict(rope_theta=10000.0, tie_word_embeddings=False, sliding_window=None, pad_token_id=0,
                          original_max_position_embeddings=64,
                          rope_scaling=dict(type="longrope",
                                            short_factor=[1.0, 1.05, 1.1, 1.2, 1.5, 2.0, 3.0, 4.0],
                                            long_factor=[1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0])),
             "spm", torch.float32, None),
    "gemma": ("gemma", dict(rope_theta=10000.0, head_dim=16, hidden_activation="gelu_pytorch_tanh"), "spm",
              torch.float32, None),
    "gemma2": ("gemma2", dict(rope_theta=10000.0, head_dim=16, hidden_activation="gelu_pytorch_tanh",
                              sliding_window=8, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                              query_pre_attn_scalar=24), "spm", torch.float32, None),
}
N_TOKENS = 17
CHAT_TEMPLATE = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def train_tokenizers(text_file, work):
    """A byte-level BPE tokenizer.json and a SentencePiece tokenizer.model, both VOCAB entries."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train([text_file], trainer)
    bpe.save(os.path.join(work, "tokenizer.json"))

    import sentencepiece as spm
    spm.SentencePieceTrainer.train(input=text_file, model_prefix=os.path.join(work, "tokenizer"),
                                   model_type="bpe", vocab_size=VOCAB, byte_fallback=True,
                                   character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                                   normalization_rule_name="identity", num_threads=4)


def make_config(model_type, extra):
    """transformers 5 renamed rope_scaling's "type" to "rope_type" (and may move it into
    rope_parameters); try the spelling given, then the other one."""
    try:
        return AutoConfig.for_model(model_type, **COMMON, **extra)
    except Exception:
        scaling = dict(extra.get("rope_scaling") or {})
        if "type" in scaling:
            scaling["rope_type"] = scaling.pop("type")
        elif "rope_type" in scaling:
            scaling["type"] = scaling.pop("rope_type")
        return AutoConfig.for_model(model_type, **COMMON, **{**extra, "rope_scaling": scaling})


def randomize(model, seed):
    """transformers initialises biases to 0 and norms to 1 (or 0 for Gemma): values that hide
    conversion mistakes. Give every parameter random values at a scale that keeps activations sane."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (0.0 if "gemma" in type(model).__name__.lower() else 1.0))
            elif p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif "embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)


def make_family(i, name, spec, out, work):
    model_type, extra, tok, dtype, shard = spec
    cfg = make_config(model_type, extra)
    torch.manual_seed(100 + i)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float()
    randomize(model, 100 + i)
    model = model.to(dtype)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(d, **kwargs)
    shutil.copy(os.path.join(work, "tokenizer.json" if tok == "bpe" else "tokenizer.model"), d)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True,
                   "chat_template": CHAT_TEMPLATE}, f, indent=1)

    # The expected logits come from the checkpoint as saved, reloaded: what the converter reads.
    reloaded = AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager").float().eval()
    g = torch.Generator().manual_seed(7 + i)
    tokens = [1] + torch.randint(3, VOCAB, (N_TOKENS - 1,), generator=g).tolist()
    with torch.no_grad():
        logits = reloaded(torch.tensor([tokens])).logits[0].float().numpy()
    assert np.isfinite(logits).all()
    logits.astype("<f4").tofile(os.path.join(d, "logits.f32"))
    dt = str(dtype).replace("torch.", "")
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"tokens": tokens, "logits": "logits.f32", "n_vocab": VOCAB, "saved_dtype": dt,
                   "sharded": bool(shard), "logits_std": float(logits.std())}, f, indent=1)
    print(name, "ok, logits std", logits.std(), open(os.path.join(d, "config.json")).read(), flush=True)
    return f"| {name} | {model_type} | {tok} | {dt} | {'yes' if shard else 'no'} | {logits.std():.3f} |"


def main():
    out, text_file = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "_tok")
    os.makedirs(work, exist_ok=True)
    train_tokenizers(text_file, work)
    rows = []
    for i, (name, spec) in enumerate(FAMILIES.items()):
        try:
            rows.append(make_family(i, name, spec, out, work))
        except Exception as e:  # one family failing must not cost the others
            import traceback
            traceback.print_exc()
            print(name, "FAILED:", repr(e), flush=True)
    shutil.rmtree(work)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("# Hugging Face fixtures for the converter\n\n"
                "Made on the device machine by `scripts/device/make_hf_fixtures.py` with transformers "
                f"{transformers.__version__} and torch {torch.__version__}: tiny random checkpoints "
                "(hidden 64, 2 layers, 4 heads, 2 KV heads, vocab 512; every parameter random, biases and "
                "norms included) saved with `save_pretrained`, reloaded, and run in float32 with eager "
                "attention over `expected.json`'s tokens; `logits.f32` is [n_tokens x n_vocab] "
                "little-endian float32. Tokenizers: a byte-level BPE tokenizer.json (tokenizers library) "
                "or a SentencePiece BPE tokenizer.model, both 512 entries, trained on the demo's KJV text.\n\n"
                "| folder | model_type | tokenizer | saved dtype | sharded | logits std |\n|---|---|---|---|---|---|\n"
                + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
