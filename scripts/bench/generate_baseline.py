"""Python onnxruntime generation loop over an lmdeck decoder model directory: the baseline
for `lmdeck bench generate`. Greedy decoding with the KV cache carried between steps, in
either layout lmdeck reads: the Optimum one (a growing cache passed from `present` to
`past_key_values`) or lmdeck's fused graph (`seqlens_k` input: one fixed-capacity cache
bound as both input and output through I/O binding, as lmdeck does).

Usage: generate_baseline.py MODEL_DIR PROMPT_FILE MAX_NEW_TOKENS [RUNS]
The prompt is rendered as SmolLM2's chat template renders it (with its default system line),
exactly as lmdeck does; after one warm-up, the medians of RUNS timed runs are reported.
Prints one line: mode=python ttft_ms=... decode_tokens_per_s=... tokens=... prompt_tokens=...
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat_ids(tok, prompt):
    text = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    return tok.encode(text).ids


def load_prompt(model_dir, prompt_file):
    """The model's manifest, the prompt file's chat-rendered token ids and the end tokens'
    ids (every engine of the benchmark starts from these)."""
    with open(os.path.join(model_dir, "lmdeck-model.json")) as f:
        m = json.load(f)
    with open(prompt_file) as f:
        prompt = f.read()
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    eos = {tok.token_to_id(t) for t in m["eos_tokens"]}
    return m, chat_ids(tok, prompt), eos


class Optimum:
    """The usual loop: every step's presents become the next step's pasts."""

    def __init__(self, sess, m):
        self.sess, self.m = sess, m
        self.keep = any(i.name == "logits_to_keep" for i in sess.get_inputs())

    def start(self, capacity):
        m = self.m
        self.past = {f"past_key_values.{i}.{k}": np.zeros((1, m["kv_heads"], 0, m["head_dim"]), np.float32)
                     for i in range(m["layers"]) for k in ("key", "value")}
        self.outs = ["logits"] + [n.replace("past_key_values", "present") for n in self.past]

    def step(self, ids, total):
        n = len(ids)
        feeds = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, total + n), np.int64),
                 "position_ids": np.arange(total, total + n, dtype=np.int64)[None, :], **self.past}
        if self.keep:
            feeds["logits_to_keep"] = np.array([1], np.int64)  # the last position is all a loop needs
        res = self.sess.run(self.outs, feeds)
        self.past = dict(zip(self.past.keys(), res[1:]))
        return res[0][0, -1]


class Fused:
    """lmdeck's fused graph: one cache buffer per tensor, bound as past and present."""

    def __init__(self, sess, m):
        self.sess, self.m = sess, m

    def start(self, capacity):
        m = self.m
        self.bind = self.sess.io_binding()
        self.buffers = []
        for i in range(m["layers"]):
            for k in ("key", "value"):
                buf = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, m["kv_heads"], capacity, m["head_dim"]), np.float32))
                self.bind.bind_ortvalue_input(f"past_key_values.{i}.{k}", buf)
                self.bind.bind_ortvalue_output(f"present.{i}.{k}", buf)
                self.buffers.append(buf)
        self.bind.bind_output("logits")

    def step(self, ids, total):
        n = total + len(ids)
        self.bind.bind_cpu_input("input_ids", np.array([ids], np.int64))
        self.bind.bind_cpu_input("seqlens_k", np.array([n - 1], np.int32))
        self.bind.bind_cpu_input("total_sequence_length", np.array(n, np.int32))
        self.bind.bind_cpu_input("logits_to_keep", np.array([1], np.int64))
        self.sess.run_with_iobinding(self.bind)
        return self.bind.get_outputs()[-1].numpy()[0, -1]


def main():
    model_dir, prompt_file, max_new = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    m, ids, eos = load_prompt(model_dir, prompt_file)
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), ort.SessionOptions(),
                                providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    loop = Fused(sess, m) if "seqlens_k" in names else Optimum(sess, m)

    def once(limit):
        loop.start(len(ids) + limit)
        t0 = time.perf_counter()
        step_ids, total, out, first = ids, 0, [], None
        while len(out) < limit:
            logits = loop.step(step_ids, total)
            total += len(step_ids)
            nxt = int(logits.argmax())
            if first is None:
                first = time.perf_counter() - t0
            if nxt in eos:
                break
            out.append(nxt)
            step_ids = [nxt]
        end = time.perf_counter() - t0
        decode = (len(out) - 1) / (end - first) if len(out) > 1 else 0.0
        return first, decode, out

    once(2)
    results = [once(max_new) for _ in range(runs)]
    first = statistics.median(r[0] for r in results)
    decode = statistics.median(r[1] for r in results)
    out = results[0][2]
    print(f"mode=python ttft_ms={first * 1000:.1f} decode_tokens_per_s={decode:.1f} tokens={len(out)} "
          f"prompt_tokens={len(ids)}")


if __name__ == "__main__":
    main()
