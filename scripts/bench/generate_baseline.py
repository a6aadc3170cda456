"""Python onnxruntime generation loop over an lmdeck decoder model directory: the baseline
for `lmdeck bench generate`. Greedy decoding with the KV cache carried between steps (the
usual Optimum-layout loop), same prompt and token budget as lmdeck's benchmark.

Usage: generate_baseline.py MODEL_DIR PROMPT MAX_NEW_TOKENS [RUNS]
The prompt is rendered as SmolLM2's chat template renders it (with its default system line),
exactly as lmdeck does; the best time to first token and the best decode speed of RUNS timed runs are reported,
after one warm-up.
Prints one line: mode=python ttft_ms=... decode_tokens_per_s=... tokens=... text=...
"""
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    model_dir, prompt, max_new = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    with open(os.path.join(model_dir, "lmdeck-model.json")) as f:
        m = json.load(f)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    eos = {tok.token_to_id(t) for t in m["eos_tokens"]}
    opts = ort.SessionOptions()
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), opts, providers=["CPUExecutionProvider"])
    system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    text = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.encode(text).ids
    keep_input = any(i.name == "logits_to_keep" for i in sess.get_inputs())
    def once(limit):
        past = {f"past_key_values.{i}.{k}": np.zeros((1, m["kv_heads"], 0, m["head_dim"]), np.float32)
                for i in range(m["layers"]) for k in ("key", "value")}
        outs = ["logits"] + [n.replace("past_key_values", "present") for n in past]
        t0 = time.perf_counter()
        step_ids, total, out, first = ids, 0, [], None
        while len(out) < limit:
            n = len(step_ids)
            feeds = {"input_ids": np.array([step_ids], np.int64),
                     "attention_mask": np.ones((1, total + n), np.int64),
                     "position_ids": np.arange(total, total + n, dtype=np.int64)[None, :], **past}
            if keep_input:
                feeds["logits_to_keep"] = np.array([1], np.int64)  # the last position is all a loop needs
            res = sess.run(outs, feeds)
            total += n
            nxt = int(res[0][0, -1].argmax())
            if first is None:
                first = time.perf_counter() - t0
            past = dict(zip(past.keys(), res[1:]))
            if nxt in eos:
                break
            out.append(nxt)
            step_ids = [nxt]
        end = time.perf_counter() - t0
        decode = (len(out) - 1) / (end - first) if len(out) > 1 else 0.0
        return first, decode, out

    once(2)
    results = [once(max_new) for _ in range(runs)]
    # Each figure's best run, as lmdeck's benchmark reports it.
    first = min(r[0] for r in results)
    decode = max(r[1] for r in results)
    out = results[0][2]
    print(f"mode=python ttft_ms={first * 1000:.1f} decode_tokens_per_s={decode:.1f} tokens={len(out)} "
          f"prompt_tokens={len(ids)}")


if __name__ == "__main__":
    main()
