"""Convert a Llama-architecture GGUF model into an ONNX model directory for lmdeck.

The ONNX graph follows the Hugging Face Optimum "text-generation-with-past" layout, so lmdeck's
decoder treats it like any `optimum-cli export onnx --task text-generation-with-past` model:

  inputs   input_ids [b, s] int64, attention_mask [b, past + s] int64, position_ids [b, s] int64,
           past_key_values.{i}.key / .value [b, kv_heads, past, head_dim] float32,
           logits_to_keep [1] int64 (as in transformers: the last N positions get logits, 0 = all)
  outputs  logits [b, N or s, vocab] float32, present.{i}.key / .value [b, kv_heads, past + s, head_dim]

`logits_to_keep` is an addition to the Optimum layout: generation needs the last position only,
and the LM head over a long RAG prompt's every position is a large share of prefill.

Q4_0 and Q4_1 projection weights stay 4-bit: their blocks map onto ONNX Runtime's
`com.microsoft::MatMulNBits` (scale d, 4-bit codes, zero point 8) and, for Q4_1, an extra term
`(m + 8d) * blocksum(x)` restores the block minimum, so the weights are exactly the GGUF's.
The products stay float32 (accuracy level 0, the default): exact, and about 1.2x the decode
speed of the float32 graph at half its size. `--accuracy-level 4` lets ONNX Runtime quantise
activations to int8 per block, as llama.cpp does: about 10 % faster again, but no longer exact
(KV-cached steps then drift from a full pass); its CPU graph (below) then also keeps the KV cache
in float16, as llama.cpp's does (`--cache-type` overrides). `--weights fp32`
dequantises everything to float32 instead. Other tensors (Q8_0, F16, F32) are dequantised to
float32 through gguf-py. The tokenizer is rebuilt
from the GGUF metadata (GPT-2 byte-level BPE) with the `tokenizers` library, and the chat template
is kept in tokenizer_config.json.

Usage: gguf_to_onnx.py MODEL.gguf OUT_DIR [--name NAME] [--weights q4|fp32] [--accuracy-level N]
                       [--graph fused|plain] [--cache-type auto|float32|float16]
Writes OUT_DIR/{model.onnx, model.onnx.data, tokenizer.json, tokenizer_config.json, lmdeck-model.json}
into a staging folder and renames it into place when everything is written.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import dequantize

SUPPORTED = {
    GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.Q4_0,
    GGMLQuantizationType.Q4_1, GGMLQuantizationType.Q8_0,
}


# Recorded in lmdeck-model.json; setup converts the default model again when it changes.
CONVERTER_VERSION = "scripts/convert/gguf_to_onnx.py 6"
FOUR_BIT = {GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1}
BLOCK = 32  # values per Q4_0 / Q4_1 block


class ConvertError(Exception):
    pass


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise ConvertError(f"GGUF metadata has no `{key}`")
        return default
    return f.contents()


def read_model(path):
    try:
        reader = GGUFReader(path)
    except (ValueError, OSError) as e:
        raise ConvertError(f"cannot read it as a GGUF file ({e})")
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise ConvertError(f"architecture `{arch}` is not supported (only llama-architecture GGUF files)")
    p = f"{arch}."
    cfg = {
        "layers": int(field(reader, p + "block_count")),
        "hidden": int(field(reader, p + "embedding_length")),
        "ffn": int(field(reader, p + "feed_forward_length")),
        "heads": int(field(reader, p + "attention.head_count")),
        "kv_heads": int(field(reader, p + "attention.head_count_kv")),
        "rope_theta": float(field(reader, p + "rope.freq_base", 10000.0)),
        "eps": float(field(reader, p + "attention.layer_norm_rms_epsilon")),
        "context": int(field(reader, p + "context_length")),
    }
    cfg["head_dim"] = cfg["hidden"] // cfg["heads"]
    tensors, blocks, q8 = {}, {}, {}
    for t in reader.tensors:
        if t.tensor_type not in SUPPORTED:
            raise ConvertError(f"tensor {t.name} has type {t.tensor_type.name}; supported: Q4_0, Q4_1, Q8_0, F16, F32")
        if t.tensor_type in FOUR_BIT and len(t.shape) == 2:
            rows = int(t.shape[1])
            blocks[t.name] = (t.tensor_type, np.asarray(t.data, dtype=np.uint8).reshape(rows, -1))
        if t.tensor_type == GGMLQuantizationType.Q8_0 and len(t.shape) == 2:
            q8[t.name] = np.asarray(t.data, dtype=np.uint8).reshape(int(t.shape[1]), -1)
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        # gguf-py lists shapes input-dim first; dequantised arrays come out [out, in].
        tensors[t.name] = w.reshape([int(d) for d in reversed(t.shape.tolist())]) if w.ndim == 1 and len(t.shape) > 1 else w
    if "rope_freqs.weight" in tensors:
        raise ConvertError("this model scales RoPE frequencies (rope_freqs, as Llama 3.1+ does), which the converter does not support yet")
    cfg["vocab"] = tensors["token_embd.weight"].shape[0]
    cfg["blocks"] = blocks
    # The LM head's raw Q8_0 rows (the tied embedding when there is no output.weight).
    cfg["head_q8"] = q8.get("output.weight") if "output.weight" in tensors else q8.get("token_embd.weight")
    return reader, cfg, tensors


def unpermute(w, heads):
    """GGUF stores Q/K rows as (head, i, j) for HF's (head, j, i), i < head_dim/2, j in {0, 1}
    (llama.cpp's adjacent-pair RoPE); put them back for rotate-half RoPE."""
    out, inp = w.shape
    hd = out // heads
    return w.reshape(heads, hd // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)


def weights(cfg, tensors, four_bit=False):
    """Per-layer weights in HF layout ([out, in]): float32, or raw 4-bit blocks when
    `four_bit` and the GGUF stores them so."""
    try:
        return _weights(cfg, tensors, four_bit)
    except KeyError as e:
        raise ConvertError(f"tensor {e} is missing (is this a complete llama-architecture model?)")


def _weights(cfg, tensors, four_bit):
    def proj(name, heads=None):
        """A projection as float32 [out, in], or its raw 4-bit blocks [out, bytes] with the
        type; Q/K rows are un-permuted either way (blocks run along the input dimension)."""
        raw = cfg["blocks"].get(name) if four_bit else None
        if raw is not None:
            kind, rows = raw
            return (kind, unpermute(rows, heads) if heads else rows, tensors[name].shape[1])
        return unpermute(tensors[name], heads) if heads else tensors[name]

    layers = []
    for i in range(cfg["layers"]):
        b = f"blk.{i}."
        layers.append({
            "attn_norm": tensors[b + "attn_norm.weight"],
            "q": proj(b + "attn_q.weight", cfg["heads"]),
            "k": proj(b + "attn_k.weight", cfg["kv_heads"]),
            "v": proj(b + "attn_v.weight"),
            "o": proj(b + "attn_output.weight"),
            "ffn_norm": tensors[b + "ffn_norm.weight"],
            "gate": proj(b + "ffn_gate.weight"),
            "up": proj(b + "ffn_up.weight"),
            "down": proj(b + "ffn_down.weight"),
        })
    embed = tensors["token_embd.weight"]
    head = tensors.get("output.weight", embed)  # tied LM head when the GGUF has none
    return layers, embed, tensors["output_norm.weight"], head


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, value, base="c", dtype=None):
        arr = np.asarray(value, dtype=dtype)
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, base=None, outputs=None, **attrs):
        outs = outputs or [self.name(base or op_type.lower())]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if len(outs) == 1 else outs


def rms_norm(g, x, w, eps):
    sq = g.op("Mul", [x, x])
    mean = g.op("ReduceMean", [sq], axes=[-1], keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [mean, g.const(np.float32(eps))])])])
    return g.op("Mul", [g.op("Mul", [x, inv]), w])


def linear(g, x, w, base, accuracy_level=0):
    if isinstance(w, tuple):
        return linear_4bit(g, x, w, base, accuracy_level)
    return g.op("MatMul", [x, g.const(w.T.copy(), base)])


def four_bit_codes(kind, rows):
    """Scales, block minimums (Q4_1; None for Q4_0) and MatMulNBits-packed codes of GGUF
    Q4_0 / Q4_1 rows. A GGUF block keeps value j in the low nibble of byte j and value j + 16
    in its high nibble; MatMulNBits wants values 2i and 2i + 1 in byte i (low, high)."""
    width = 20 if kind == GGMLQuantizationType.Q4_1 else 18
    n = rows.shape[0]
    b = rows.reshape(n, -1, width)
    d = b[:, :, 0:2].copy().view(np.float16)[:, :, 0].astype(np.float32)
    m = b[:, :, 2:4].copy().view(np.float16)[:, :, 0].astype(np.float32) if width == 20 else None
    qs = b[:, :, width - 16:]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [n, blocks, 32] in order
    packed = (values[:, :, 0::2] | (values[:, :, 1::2] << 4)).astype(np.uint8)
    return d, m, packed


def linear_4bit(g, x, w, base, accuracy_level):
    kind, rows, k = w
    d, m, packed = four_bit_codes(kind, rows)
    n, nblocks = d.shape
    y = g.op(
        "MatMulNBits",
        [x, g.const(packed, base), g.const(d.reshape(-1), base + "_scales")],
        domain="com.microsoft", K=k, N=n, bits=4, block_size=BLOCK, accuracy_level=accuracy_level,
    )
    if m is None:
        return y
    # Q4_1: w = q*d + m = (q - 8)*d + (m + 8d); the second part is per block, so it is
    # blocksum(x) @ (m + 8d)^T.
    offset = (m + 8.0 * d).T.copy()  # [blocks, n]
    xb = g.op("Reshape", [x, g.const([0, 0, nblocks, BLOCK], dtype=np.int64)])
    sums = g.op("ReduceSum", [xb, g.const([-1], dtype=np.int64)], keepdims=0)
    return g.op("Add", [y, g.op("MatMul", [sums, g.const(offset, base + "_offset")])])


def build(cfg, layers, embed, norm, head, out_path, accuracy_level=0):
    g = Graph()
    lin = lambda x, w, base: linear(g, x, w, base, accuracy_level)  # noqa: E731
    L, H, KV, D = cfg["layers"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    ids = "input_ids"
    x = g.op("Gather", [g.const(embed, "embed"), ids], axis=0)
    # Rotary tables from position_ids: emb = [pos * inv_freq, pos * inv_freq].
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, D, 2, dtype=np.float64) / D))
    pos = g.op("Cast", ["position_ids"], to=TensorProto.FLOAT)
    freqs = g.op("Mul", [g.op("Unsqueeze", [pos, g.const([-1], dtype=np.int64)]), g.const(inv_freq.astype(np.float32))])
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    one = g.const([1], dtype=np.int64)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), one])  # [b, 1, s, D]
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), one])
    half = D // 2

    def rope(t):
        x1 = g.op("Slice", [t, g.const([0], dtype=np.int64), g.const([half], dtype=np.int64), g.const([3], dtype=np.int64)])
        x2 = g.op("Slice", [t, g.const([half], dtype=np.int64), g.const([D], dtype=np.int64), g.const([3], dtype=np.int64)])
        rot = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    # Mask [b, 1, s, T]: causal (key position <= query position) and attention_mask.
    shape_ids = g.op("Shape", [ids])
    s_len = g.op("Gather", [shape_ids, g.const(1, dtype=np.int64)], axis=0)
    t_len = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const(1, dtype=np.int64)], axis=0)
    past = g.op("Sub", [t_len, s_len])
    key_pos = g.op("Range", [g.const(0, dtype=np.int64), t_len, g.const(1, dtype=np.int64)])
    query_pos = g.op("Range", [past, t_len, g.const(1, dtype=np.int64)])
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [key_pos, g.const([0], dtype=np.int64)]),
                                  g.op("Unsqueeze", [query_pos, g.const([1], dtype=np.int64)])])  # [s, T]
    keep = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.const([1, 2], dtype=np.int64)])], to=TensorProto.BOOL)
    allowed = g.op("And", [g.op("Unsqueeze", [causal, g.const([0, 1], dtype=np.int64)]), keep])
    mask = g.op("Where", [allowed, g.const(np.float32(0.0)), g.const(np.float32(-3.0e38))])
    scale = g.const(np.float32(1.0 / np.sqrt(D)))
    rep = H // KV
    heads_shape = lambda n: g.const([0, 0, n, D], dtype=np.int64)  # noqa: E731
    for i, w in enumerate(layers):
        h = rms_norm(g, x, g.const(w["attn_norm"], f"l{i}_attn_norm"), cfg["eps"])
        q = g.op("Transpose", [g.op("Reshape", [lin(h, w["q"], f"l{i}_q"), heads_shape(H)])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [lin(h, w["k"], f"l{i}_k"), heads_shape(KV)])], perm=[0, 2, 1, 3])
        v = g.op("Transpose", [g.op("Reshape", [lin(h, w["v"], f"l{i}_v"), heads_shape(KV)])], perm=[0, 2, 1, 3])
        q, k = rope(q), rope(k)
        k_all = g.op("Concat", [f"past_key_values.{i}.key", k], axis=2, outputs=[f"present.{i}.key"])
        v_all = g.op("Concat", [f"past_key_values.{i}.value", v], axis=2, outputs=[f"present.{i}.value"])

        def repeat(t):
            if rep == 1:
                return t
            t5 = g.op("Unsqueeze", [t, g.const([2], dtype=np.int64)])  # [b, KV, 1, T, D]
            shape = g.op("Shape", [t5])
            target = g.op("Mul", [shape, g.const([1, 1, rep, 1, 1], dtype=np.int64)])
            return g.op("Reshape", [g.op("Expand", [t5, target]), g.const([0, H, -1, D], dtype=np.int64)])

        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [repeat(k_all)], perm=[0, 1, 3, 2])]), scale])
        probs = g.op("Softmax", [g.op("Add", [scores, mask])], axis=-1)
        attn = g.op("Transpose", [g.op("MatMul", [probs, repeat(v_all)])], perm=[0, 2, 1, 3])
        attn = g.op("Reshape", [attn, g.const([0, 0, H * D], dtype=np.int64)])
        x = g.op("Add", [x, lin(attn, w["o"], f"l{i}_o")])
        h = rms_norm(g, x, g.const(w["ffn_norm"], f"l{i}_ffn_norm"), cfg["eps"])
        gate = lin(h, w["gate"], f"l{i}_gate")
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), lin(h, w["up"], f"l{i}_up")])
        x = g.op("Add", [x, lin(act, w["down"], f"l{i}_down")])
    # Only the last `logits_to_keep` positions reach the LM head (0 keeps them all).
    start = g.op("Neg", ["logits_to_keep"])
    x = g.op("Slice", [x, start, g.const([np.iinfo(np.int64).max], dtype=np.int64), g.const([1], dtype=np.int64)])
    x = rms_norm(g, x, g.const(norm, "final_norm"), cfg["eps"])
    g.op("MatMul", [x, g.const(head.T.copy(), "lm_head")], outputs=["logits"])

    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("logits_to_keep", TensorProto.INT64, [1]),
    ]
    outputs = [helper.make_tensor_value_info("logits", f, ["batch", "kept", cfg["vocab"]])]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", f, ["batch", KV, "past", D]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", f, ["batch", KV, "total", D]))
    save(g, inputs, outputs, out_path)


def save(g, inputs, outputs, out_path):
    graph = helper.make_graph(g.nodes, "llama", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], producer_name="lmdeck-gguf-to-onnx")
    model.ir_version = 8
    data = os.path.basename(out_path) + ".data"
    if os.path.exists(os.path.join(os.path.dirname(out_path), data)):
        os.remove(os.path.join(os.path.dirname(out_path), data))  # save_model appends otherwise
    onnx.save_model(model, out_path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)


def stack_rows(ws):
    """Projections that read the same input, stacked along the output dimension (q|k|v,
    gate|up) so one matmul computes them: float32 rows, or 4-bit block rows of one type."""
    if all(isinstance(w, tuple) for w in ws) and len({w[0] for w in ws}) == 1 and len({w[2] for w in ws}) == 1:
        return (ws[0][0], np.concatenate([w[1] for w in ws], axis=0), ws[0][2])
    return np.concatenate([w if not isinstance(w, tuple) else dequant_rows(w) for w in ws], axis=0)


def dequant_rows(w):
    """4-bit block rows back to float32 [out, in] (only when a stack mixes types)."""
    kind, rows, k = w
    d, m, packed = four_bit_codes(kind, rows)
    lo, hi = packed & 0x0F, packed >> 4
    codes = np.stack([lo, hi], axis=-1).reshape(rows.shape[0], -1, BLOCK).astype(np.float32)
    base = m[:, :, None] if m is not None else -8.0 * d[:, :, None]
    return (codes * d[:, :, None] + base).reshape(rows.shape[0], k).astype(np.float32)


def eight_bit_head(head_q8):
    """GGUF Q8_0 rows (block: f16 scale d, 32 int8 values) as MatMulNBits bits=8 inputs: codes
    q + 128 with the default zero point 128, so (code - 128) * d is exactly q * d."""
    n = head_q8.shape[0]
    b = head_q8.reshape(n, -1, 34)
    d = b[:, :, 0:2].copy().view(np.float16)[:, :, 0].astype(np.float32)
    codes = (b[:, :, 2:].view(np.int8).astype(np.int16) + 128).astype(np.uint8)
    return d, codes


def build_fused(cfg, layers, embed, norm, head, out_path, accuracy_level=0, head_q8=None):
    """The same model as `build`, written with ONNX Runtime's fused operators: RMSNorm as
    (Skip)SimplifiedLayerNormalization, q|k|v and gate|up as one matmul each, attention as
    com.microsoft::GroupQueryAttention (rotary inside) over a KV cache of fixed capacity that
    is both input and output, so the runtime writes new keys in place (lmdeck binds one
    buffer to both) instead of copying the whole cache every step; the LM head 8-bit when the
    GGUF stores it as Q8_0.

      inputs   input_ids [b, s] int64, seqlens_k [b] int32 (past + s - 1),
               total_sequence_length [] int32 (past + s), logits_to_keep [1] int64,
               past_key_values.{i}.key / .value [b, kv_heads, capacity, head_dim] float32
      outputs  logits [b, N or s, vocab], present.{i}.key / .value (the same buffers)

    The caller feeds lengths, not a mask that grows with the context; rows of the cache beyond
    past + s are never read, and positions follow from the lengths."""
    g = Graph()
    lin = lambda x, w, base: linear(g, x, w, base, accuracy_level)  # noqa: E731
    L, H, KV, D = cfg["layers"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps = cfg["eps"]
    x = g.op("Gather", [g.const(embed, "embed"), "input_ids"], axis=0)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, D, 2, dtype=np.float64) / D))
    angles = np.arange(cfg["context"], dtype=np.float64)[:, None] * inv_freq[None, :]
    cos_cache = g.const(np.cos(angles).astype(np.float32), "cos_cache")
    sin_cache = g.const(np.sin(angles).astype(np.float32), "sin_cache")
    seqlens_k, total_len = "seqlens_k", "total_sequence_length"
    qkv_w = [stack_rows([w["q"], w["k"], w["v"]]) for w in layers]
    gate_up_w = [stack_rows([w["gate"], w["up"]]) for w in layers]
    ffn = cfg["ffn"]
    h = g.op("SimplifiedLayerNormalization", [x, g.const(layers[0]["attn_norm"], "l0_attn_norm")],
             axis=-1, epsilon=eps, stash_type=1)
    residual = x
    for i, w in enumerate(layers):
        qkv = lin(h, qkv_w[i], f"l{i}_qkv")
        attn, _, _ = g.op(
            "GroupQueryAttention",
            [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len,
             cos_cache, sin_cache],
            outputs=[g.name(f"l{i}_attn"), f"present.{i}.key", f"present.{i}.value"],
            domain="com.microsoft", num_heads=H, kv_num_heads=KV, do_rotary=1, rotary_interleaved=0,
        )
        o = lin(attn, w["o"], f"l{i}_o")
        h, _, _, residual = g.op(
            "SkipSimplifiedLayerNormalization", [o, residual, g.const(w["ffn_norm"], f"l{i}_ffn_norm")],
            outputs=[g.name(f"l{i}_h2"), "", "", g.name(f"l{i}_r2")], domain="com.microsoft", epsilon=eps)
        gate_up = lin(h, gate_up_w[i], f"l{i}_gate_up")
        gate, up = g.op("Split", [gate_up, g.const([ffn, ffn], dtype=np.int64)], axis=-1,
                        outputs=[g.name(f"l{i}_gate"), g.name(f"l{i}_up")])
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        down = lin(act, w["down"], f"l{i}_down")
        next_norm = layers[i + 1]["attn_norm"] if i + 1 < L else norm
        h, _, _, residual = g.op(
            "SkipSimplifiedLayerNormalization", [down, residual, g.const(next_norm, f"l{i}_next_norm")],
            outputs=[g.name(f"l{i}_h"), "", "", g.name(f"l{i}_r")], domain="com.microsoft", epsilon=eps)
    # Only the last `logits_to_keep` positions reach the LM head (0 keeps them all).
    start = g.op("Neg", ["logits_to_keep"])
    h = g.op("Slice", [h, start, g.const([np.iinfo(np.int64).max], dtype=np.int64), g.const([1], dtype=np.int64)])
    if head_q8 is not None:
        d, codes = eight_bit_head(head_q8)
        n, nblocks = d.shape
        g.op("MatMulNBits", [h, g.const(codes, "lm_head"), g.const(d.reshape(-1), "lm_head_scales")],
             outputs=["logits"], domain="com.microsoft", K=nblocks * BLOCK, N=n, bits=8, block_size=BLOCK,
             accuracy_level=accuracy_level)
    else:
        g.op("MatMul", [h, g.const(head.T.copy(), "lm_head")], outputs=["logits"])

    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, []),
        helper.make_tensor_value_info("logits_to_keep", TensorProto.INT64, [1]),
    ]
    outputs = [helper.make_tensor_value_info("logits", f, ["batch", "kept", cfg["vocab"]])]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", f, ["batch", KV, "capacity", D]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", f, ["batch", KV, "capacity", D]))
    save(g, inputs, outputs, out_path)


CPU_GRAPH = "model.cpu.onnx"


def write_cpu_graph(model_path, head_dim, cache_type="float32"):
    """The CPU graph lmdeck runs: model.onnx with each GroupQueryAttention replaced by
    lmdeck.CachedAttention (lmdeck's own operator, registered by its decoder; same packed input,
    cache buffers, lengths and rotary tables, same outputs). It reads the same weights file:
    only the ~130 KB graph is written. ONNX Runtime alone cannot run it; model.onnx stays the
    portable graph (CUDA, Python checks). With cache_type float16 the cache inputs and outputs
    are float16 and the nodes are lmdeck.CachedAttentionF16 (half the bytes per decode step)."""
    if head_dim % 16:
        print(f"note: head size {head_dim} is not a multiple of 16; no CPU graph (ONNX Runtime's attention runs)",
              file=sys.stderr)
        return False
    model = onnx.load(model_path, load_external_data=False)
    replaced = 0
    for node in model.graph.node:
        if node.op_type != "GroupQueryAttention":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        # The operator implements exactly this: packed QKV, half-split rotary inside, the
        # default scale, no softcap or window; anything else must not be dropped silently.
        known = {"num_heads", "kv_num_heads", "do_rotary", "rotary_interleaved"}
        if (set(attrs) - known or attrs.get("do_rotary") != 1 or attrs.get("rotary_interleaved", 0) != 0
                or len(node.input) != 9 or node.input[1] or node.input[2]):
            raise ConvertError(f"{node.name}: GroupQueryAttention {attrs} with {len(node.input)} inputs is not "
                               "what lmdeck.CachedAttention implements; no CPU graph")
        qkv, _k, _v, past_k, past_v, seqlens, total, cos, sin = node.input
        op = "CachedAttentionF16" if cache_type == "float16" else "CachedAttention"
        replacement = helper.make_node(
            op, [qkv, past_k, past_v, seqlens, total, cos, sin], list(node.output),
            name=node.name, domain="lmdeck", num_heads=attrs["num_heads"], kv_num_heads=attrs["kv_num_heads"])
        node.CopyFrom(replacement)
        replaced += 1
    if replaced == 0:
        raise ConvertError("no GroupQueryAttention in the graph: no CPU graph")
    if cache_type == "float16":
        cache_io = [v for v in list(model.graph.input) + list(model.graph.output)
                    if v.name.startswith(("past_key_values.", "present."))]
        # The cache must be the attention nodes' alone: anything else reading it would get
        # float16 where it expects float32.
        names = {v.name for v in cache_io}
        for n in model.graph.node:
            if n.domain != "lmdeck" and names & set(n.input):
                raise ConvertError(f"{n.name} reads the KV cache; no float16 CPU graph")
        for v in cache_io:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    model.opset_import.append(helper.make_opsetid("lmdeck", 1))
    onnx.save_model(model, os.path.join(os.path.dirname(model_path), CPU_GRAPH))
    return True


def full_pass_logits(model_path, ids):
    """Every position's logits for `ids` from a converted model through onnxruntime, empty
    cache: lmdeck's fused graph takes lengths and a cache with room for the prompt, the
    Optimum layout a mask, positions and an empty cache. (reference.py and the fine-tune
    recipe's checks read models with it.)"""
    import onnxruntime as ort
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    n = len(ids)
    inputs = sess.get_inputs()
    fused = any(i.name == "seqlens_k" for i in inputs)
    feeds = {"input_ids": np.array([ids], dtype=np.int64)}
    if fused:
        feeds["seqlens_k"] = np.array([n - 1], dtype=np.int32)
        feeds["total_sequence_length"] = np.array(n, dtype=np.int32)
    else:
        feeds["attention_mask"] = np.ones((1, n), dtype=np.int64)
        feeds["position_ids"] = np.arange(n, dtype=np.int64)[None, :]
    for i in inputs:
        if i.name == "logits_to_keep":
            feeds[i.name] = np.array([0], dtype=np.int64)  # every position
        elif i.name.startswith("past_key_values."):
            _, kv, _, hd = i.shape
            feeds[i.name] = np.zeros((1, kv, n if fused else 0, hd), dtype=np.float32)
    return sess.run(["logits"], feeds)[0][0]


def tokenizer_files(reader, out_dir):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, AddedToken
    model = field(reader, "tokenizer.ggml.model")
    if model != "gpt2":
        raise ConvertError(f"tokenizer model `{model}` is not supported (only GPT-2 style byte-level BPE)")
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    pre = field(reader, "tokenizer.ggml.pre", "default")
    steps = [pre_tokenizers.Digits(individual_digits=True)] if pre == "smollm" else []
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    control = [AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if int(t) == 3]
    tok.add_special_tokens(control)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    eos = tokens[int(field(reader, "tokenizer.ggml.eos_token_id"))]
    bos_id = reader.fields.get("tokenizer.ggml.bos_token_id")
    config = {
        "chat_template": field(reader, "tokenizer.chat_template", ""),
        "eos_token": eos,
        "bos_token": tokens[int(bos_id.contents())] if bos_id is not None else None,
        "add_bos_token": bool(field(reader, "tokenizer.ggml.add_bos_token", False)),
        "model_max_length": None,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return tok, eos


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf")
    ap.add_argument("out_dir")
    ap.add_argument("--name")
    ap.add_argument("--weights", choices=["q4", "fp32"], default="q4",
                    help="q4: keep Q4_0/Q4_1 projections 4-bit (MatMulNBits); fp32: dequantise everything")
    ap.add_argument("--accuracy-level", type=int, choices=[0, 1, 2, 3, 4], default=0,
                    help="MatMulNBits accuracy_level: 0 keeps activations float32 (exact), 4 quantises them to int8 per block")
    ap.add_argument("--cache-type", choices=["auto", "float32", "float16"], default="auto",
                    help="the CPU graph's KV cache: float16 halves the bytes a decode step reads (not exact); "
                         "auto: float16 with --accuracy-level 4 (llama.cpp's choices), float32 otherwise")
    ap.add_argument("--graph", choices=["fused", "plain"], default="fused",
                    help="fused: ONNX Runtime's fused operators and a KV cache written in place (fast); "
                         "plain: standard operators, the Optimum layout")
    args = ap.parse_args()
    cache_type = args.cache_type
    if cache_type == "auto":
        # int8 activations exist only in the 4-bit matmuls (MatMulNBits).
        int8 = args.accuracy_level == 4 and args.weights == "q4"
        cache_type = "float16" if int8 else "float32"
    if cache_type == "float16" and args.graph != "fused":
        print("error: --cache-type float16 needs --graph fused (lmdeck's CPU graph holds the cache)", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(args.out_dir)
    staging = out_dir + ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        reader, cfg, tensors = read_model(args.gguf)
        layers, embed, norm, head = weights(cfg, tensors, four_bit=args.weights == "q4")
        model_path = os.path.join(staging, "model.onnx")
        if args.graph == "fused":
            # ONNX Runtime has a fast 8-bit MatMulNBits only with int8 activations (level 4);
            # at level 0 it dequantises the whole head every step, so the head stays float32.
            head_q8 = cfg["head_q8"] if args.weights == "q4" and args.accuracy_level == 4 else None
            build_fused(cfg, layers, embed, norm, head, model_path, args.accuracy_level, head_q8)
            cpu_graph = write_cpu_graph(model_path, cfg["head_dim"], cache_type)
            if not cpu_graph and cache_type == "float16":
                print("note: no CPU graph, so no float16 cache: model.onnx keeps a float32 one", file=sys.stderr)
        else:
            build(cfg, layers, embed, norm, head, model_path, args.accuracy_level)
            cpu_graph = False
        tok, eos = tokenizer_files(reader, staging)
        name = args.name or os.path.basename(out_dir)
        manifest = {
            "kind": "decoder",
            "name": name,
            "architecture": "llama",
            "source": {"gguf": os.path.basename(args.gguf), "sha256": sha256(args.gguf)},
            "context_length": cfg["context"],
            "layers": cfg["layers"], "heads": cfg["heads"], "kv_heads": cfg["kv_heads"],
            "head_dim": cfg["head_dim"], "hidden": cfg["hidden"], "vocab": cfg["vocab"],
            "eos_tokens": [eos],
            "model_sha256": sha256(os.path.join(staging, "model.onnx.data")),
            "converter": CONVERTER_VERSION,
            "weights": args.weights,
            "graph": args.graph,
            # lmdeck's decoder binds one buffer per cache tensor as both past and present.
            "kv_cache": "shared-buffer" if args.graph == "fused" else "concat",
            # The same model with lmdeck's attention operator, for CPU sessions.
            "cpu_graph": CPU_GRAPH if cpu_graph else None,
            "cpu_cache": cache_type if cpu_graph else None,
            "accuracy_level": args.accuracy_level if args.weights == "q4" else None,
        }
        with open(os.path.join(staging, "lmdeck-model.json"), "w") as f:
            json.dump(manifest, f, indent=2)
    except ConvertError as e:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"error: {args.gguf}: {e}", file=sys.stderr)
        return 2
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if os.path.exists(out_dir) and not os.path.isfile(os.path.join(out_dir, "lmdeck-model.json")):
        shutil.rmtree(staging, ignore_errors=True)
        print(f"error: {out_dir} exists and is not a model lmdeck converted; choose another --name", file=sys.stderr)
        return 2
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(staging, out_dir)
    print(f"converted {args.gguf} -> {out_dir} ({cfg['layers']} layers, vocab {cfg['vocab']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
