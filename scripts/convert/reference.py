"""Exact reference for a converted model: a plain numpy forward pass over the GGUF's
dequantised float32 weights (written independently of the ONNX graph builder), used to check
that the ONNX model is faithful.

Usage: reference.py MODEL.gguf MODEL_DIR TEXT_FILE OUT.json [--positions N]
Tokenises TEXT_FILE with MODEL_DIR/tokenizer.json, runs the first N tokens teacher-forced
through the reference, and writes the token ids with the reference's top-1 id and the
log-softmax of every position (top 5) to OUT.json. With --check it also runs MODEL_DIR/model.onnx
through onnxruntime and prints top-1 agreement, the mean KL divergence from the reference and the
largest logit difference.
"""
import argparse
import json
import os
import sys

import numpy as np
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
from gguf_to_onnx import full_pass_logits, read_model  # noqa: E402  (reads, dequantises, runs)


def hf_rows(w, heads):
    out, inp = w.shape
    hd = out // heads
    return w.reshape(heads, hd // 2, 2, inp).transpose(0, 2, 1, 3).reshape(out, inp)


def forward(cfg, t, ids):
    H, KV, D = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    n = len(ids)
    x = t["token_embd.weight"][ids].astype(np.float64)
    pos = np.arange(n)[:, None] * (1.0 / cfg["rope_theta"] ** (np.arange(0, D, 2) / D))[None, :]
    cos, sin = np.cos(np.concatenate([pos, pos], -1)), np.sin(np.concatenate([pos, pos], -1))

    def norm(v, w):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + cfg["eps"]) * w

    def rot(v):  # [heads, n, D]
        a, b = v[..., : D // 2], v[..., D // 2:]
        return v * cos + np.concatenate([-b, a], -1) * sin

    causal = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        h = norm(x, t[p + "attn_norm.weight"])
        q = (h @ hf_rows(t[p + "attn_q.weight"], H).T).reshape(n, H, D).transpose(1, 0, 2)
        k = (h @ hf_rows(t[p + "attn_k.weight"], KV).T).reshape(n, KV, D).transpose(1, 0, 2)
        v = (h @ t[p + "attn_v.weight"].T).reshape(n, KV, D).transpose(1, 0, 2)
        q, k = rot(q), rot(k)
        k = np.repeat(k, H // KV, axis=0)
        v = np.repeat(v, H // KV, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(D) + causal
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, H * D)
        x = x + a @ t[p + "attn_output.weight"].T
        h = norm(x, t[p + "ffn_norm.weight"])
        g = h @ t[p + "ffn_gate.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ t[p + "ffn_up.weight"].T)) @ t[p + "ffn_down.weight"].T
    x = norm(x, t["output_norm.weight"])
    head = t.get("output.weight", t["token_embd.weight"])
    return x @ head.T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("model_dir")
    ap.add_argument("text")
    ap.add_argument("out")
    ap.add_argument("--positions", type=int, default=300)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    _, cfg, tensors = read_model(args.gguf)
    tok = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    with open(args.text) as f:
        ids = tok.encode(f.read()).ids[: args.positions]
    ref = forward(cfg, {k: v.astype(np.float64) for k, v in tensors.items()}, ids)
    lp = log_softmax(ref)
    top = np.argsort(-lp, -1)[:, :5]
    with open(args.out, "w") as f:
        json.dump({
            "ids": ids,
            "top1": top[:, 0].tolist(),
            "top5": top.tolist(),
            "top5_logprobs": np.take_along_axis(lp, top, -1).round(5).tolist(),
        }, f)
    print(f"reference: {len(ids)} positions -> {args.out}")
    if args.check:
        got = full_pass_logits(os.path.join(args.model_dir, "model.onnx"), ids)
        agree = float((got.argmax(-1) == ref.argmax(-1)).mean())
        p, q = log_softmax(ref.astype(np.float64)), log_softmax(got.astype(np.float64))
        kl = float((np.exp(p) * (p - q)).sum(-1).mean())  # KL(reference || onnx), per position
        print(f"onnx vs reference: top-1 agreement {agree:.4f}, KL {kl:.5f}, max |logit diff| {np.abs(got - ref).max():.4f}")


if __name__ == "__main__":
    main()
