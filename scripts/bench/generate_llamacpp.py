"""llama.cpp (through llama-cpp-python) on the GGUF an lmdeck model was converted from: the
third column of scripts/bench-generate.sh. Same prompt token ids as lmdeck (the model
folder's tokenizer.json and SmolLM2's chat template), greedy, the same thread count.

Usage: generate_llamacpp.py GGUF MODEL_DIR PROMPT_FILE MAX_NEW_TOKENS [RUNS] [THREADS]
After one warm-up, the medians of RUNS timed runs are reported, with the mean time per decode
step over the first and the last 8 steps.
Prints one line: mode=llamacpp ttft_ms=... decode_tokens_per_s=... step_ms_start=...
step_ms_end=... tokens=... prompt_tokens=...
"""
import os
import statistics
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(__file__))
from generate_baseline import load_prompt  # noqa: E402

WINDOW = 8


def main():
    gguf, model_dir, prompt_file, max_new = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else os.cpu_count()
    _, ids, eos = load_prompt(model_dir, prompt_file)
    llm = Llama(model_path=gguf, n_ctx=max(2048, len(ids) + max_new + 16), n_threads=threads,
                n_threads_batch=threads, n_batch=512, verbose=False)

    n_vocab = llm.n_vocab()

    def last_logits():
        # The last evaluated position's logits (llama-cpp-python keeps no copy of them
        # unless every position's are asked for).
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(n_vocab,))

    def once(limit):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        nxt = int(np.argmax(last_logits()))
        first = time.perf_counter() - t0
        out, steps = [], []
        while nxt not in eos and len(out) < limit:
            out.append(nxt)
            if len(out) == limit:
                break
            s0 = time.perf_counter()
            llm.eval([nxt])
            nxt = int(np.argmax(last_logits()))
            steps.append((time.perf_counter() - s0) * 1000)
        end = time.perf_counter() - t0
        decode = (len(out) - 1) / (end - first) if len(out) > 1 else 0.0
        start_ms = statistics.mean(steps[:WINDOW]) if steps else 0.0
        end_ms = statistics.mean(steps[-WINDOW:]) if steps else 0.0
        return first, decode, start_ms, end_ms, out

    once(2)
    results = [once(max_new) for _ in range(runs)]
    med = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
    print(f"mode=llamacpp ttft_ms={med(0) * 1000:.1f} decode_tokens_per_s={med(1):.1f} "
          f"step_ms_start={med(2):.2f} step_ms_end={med(3):.2f} tokens={len(results[0][4])} prompt_tokens={len(ids)}")


if __name__ == "__main__":
    main()
