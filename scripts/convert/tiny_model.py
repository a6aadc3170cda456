"""A tiny llama-architecture ONNX model with random weights, in the same layout as converted
models, for checking the decoder's plumbing (KV cache, devices) where the real model is too
big to ship. It reuses a real model folder's tokenizer files, so its vocabulary matches.

Usage: tiny_model.py TOKENIZER_MODEL_DIR OUT_DIR [--hidden 32] [--layers 2]
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from gguf_to_onnx import build  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    args = ap.parse_args()
    with open(os.path.join(args.tokenizer_dir, "lmdeck-model.json")) as f:
        source = json.load(f)
    rng = np.random.default_rng(7)
    h, heads, kv = args.hidden, 4, 2
    ffn = h * 2
    vocab = source["vocab"]
    cfg = {"layers": args.layers, "hidden": h, "ffn": ffn, "heads": heads, "kv_heads": kv,
           "head_dim": h // heads, "rope_theta": 10000.0, "eps": 1e-5, "context": 2048, "vocab": vocab}
    w = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)  # noqa: E731
    hd = h // heads
    layers = [{"attn_norm": np.ones(h, np.float32), "q": w(h, h), "k": w(kv * hd, h), "v": w(kv * hd, h),
               "o": w(h, h), "ffn_norm": np.ones(h, np.float32), "gate": w(ffn, h), "up": w(ffn, h),
               "down": w(h, ffn)} for _ in range(args.layers)]
    embed = w(vocab, h)
    os.makedirs(args.out_dir, exist_ok=True)
    build(cfg, layers, embed, np.ones(h, np.float32), embed, os.path.join(args.out_dir, "model.onnx"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.tokenizer_dir, name), os.path.join(args.out_dir, name))
    manifest = dict(source, name="tiny-random-llama", layers=args.layers, heads=heads, kv_heads=kv,
                    head_dim=hd, hidden=h, context_length=2048, source={"random": True})
    with open(os.path.join(args.out_dir, "lmdeck-model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"tiny model -> {args.out_dir}")


if __name__ == "__main__":
    main()
