"""Fine-tune of a Llama-architecture GGUF chat model, back to an lmdeck ONNX model folder.

Runs in the training environment `lmdeck setup --training` makes; `lmdeck finetune` queues it.
Steps: load the base from its GGUF (dequantised to float32), train on chat-format JSONL either
LoRA adapters (--method lora, the default: r 8, alpha 16, q/k/v/o; --targets all adds the MLP)
or the target projections' whole weights (--method full: every weight of the --targets
projections; embeddings and norms stay the base's), merge, write a GGUF that keeps the base's
metadata, tokenizer and untouched 4-bit tensors (changed tensors go in as F32: re-quantising
would lose the change), convert it with gguf_to_onnx.py, check the ONNX logits against the
merged torch model, record lineage in lmdeck-model.json and register the model with
`lmdeck models add`.

Given --eval-set, every checkpoint (and the final step) is exported the same way (merged copy,
GGUF, ONNX, logits check) and evaluated with `lmdeck eval run --inline`; the checkpoint with the
best --eval-metric (ties: the earliest step) becomes the model instead of the final step.

Metrics are printed as JSON lines on stdout (the job log parser reads them); progress goes to
stderr. Every hyperparameter has a command-line flag whose default comes from the environment
(SEED, LR, STEPS, BATCH, MAX_LEN, METHOD, RANK, ALPHA, TARGETS, PRECISION), so `--set env.LR=2e-3` works.

Usage: lora.py --base-gguf FILE --base-name NAME --data FILE.jsonl --name NEW --out MODEL_DIR
"""
import argparse
import copy
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

RECIPE = "scripts/finetune/lora.py 2"
HERE = os.path.dirname(os.path.abspath(__file__))
LOGIT_TOLERANCE = 1e-3


class RecipeError(Exception):
    pass


def emit(**values):
    print(json.dumps(values), flush=True)


def note(text):
    print(text, file=sys.stderr, flush=True)


def env(key, default):
    return os.environ.get(key, default)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


ATTENTION_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP_PROJECTIONS = ["gate_proj", "up_proj", "down_proj"]


def target_modules(spec):
    """--targets -> the projection names that are trained (adapted by LoRA, or whole)."""
    if spec == "attention":
        return list(ATTENTION_PROJECTIONS)
    if spec == "all":
        return ATTENTION_PROJECTIONS + MLP_PROJECTIONS
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in ATTENTION_PROJECTIONS + MLP_PROJECTIONS]
    if not names or unknown:
        raise RecipeError(f"--targets `{spec}`: use attention, all or a comma list of "
                          f"{', '.join(ATTENTION_PROJECTIONS + MLP_PROJECTIONS)}")
    return names


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base-gguf", required=True)
    ap.add_argument("--base-name", required=True)
    ap.add_argument("--data", required=True, help="chat-format JSONL: {\"messages\": [...]} per line")
    ap.add_argument("--name", required=True, help="name of the new model")
    ap.add_argument("--out", required=True, help="the new model's folder (written, then registered)")
    ap.add_argument("--work-dir", help="keep the merged GGUF in this folder (default: a temp dir, removed)")
    ap.add_argument("--steps", type=int, default=int(env("STEPS", "30")))
    ap.add_argument("--lr", type=float, default=float(env("LR", "1e-3")))
    ap.add_argument("--batch", type=int, default=int(env("BATCH", "4")))
    ap.add_argument("--max-len", type=int, default=int(env("MAX_LEN", "256")))
    ap.add_argument("--method", choices=["lora", "full"], default=env("METHOD", "lora"),
                    help="lora: low-rank adapters on the target projections; full: the target "
                    "projections' whole weights (more capacity, larger checkpoints)")
    ap.add_argument("--rank", type=int, default=int(env("RANK", "8")))
    ap.add_argument("--alpha", type=float, default=float(env("ALPHA", "16")))
    ap.add_argument("--targets", default=env("TARGETS", "attention"),
                    help="projections that are trained: attention (q/k/v/o), all (attention and "
                    "MLP) or a comma list of projection names")
    ap.add_argument("--seed", type=int, default=int(env("SEED", "0")))
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=env("PRECISION", "auto"))
    ap.add_argument("--lmdeck", default=env("LMDECK_BIN", "lmdeck"), help="lmdeck binary (registers the model)")
    ap.add_argument("--checkpoint-dir", help="checkpoint-<step> folders go here (default: OUT.checkpoints); "
                    "removed once the model is registered")
    ap.add_argument("--save-every", type=int, default=int(env("SAVE_EVERY", "10")),
                    help="steps between checkpoints (0: none)")
    ap.add_argument("--resume-from", default=env("LMDECK_RESUME_FROM", ""),
                    help="a checkpoint-<step> folder to continue from (`lmdeck jobs resume` sets it)")
    ap.add_argument("--eval-set", help="evaluate every checkpoint on this lmdeck eval set and register "
                    "the best one by --eval-metric")
    ap.add_argument("--eval-metric", default="f1", help="the eval run metric (mean) that picks the checkpoint")
    ap.add_argument("--eval-limit", type=int, help="evaluate the set's first N items only")
    ap.add_argument("--eval-with", action="append", default=[], metavar="KEY=VALUE",
                    help="a run configuration override for `lmdeck eval run --set` (repeatable)")
    ap.add_argument("--eval-collection", help="collection the evaluation retrieves from")
    args = ap.parse_args()
    extra = args.eval_limit is not None or args.eval_with or args.eval_collection
    if extra and not args.eval_set:
        raise RecipeError("--eval-limit, --eval-with and --eval-collection need --eval-set")
    if args.eval_limit is not None and args.eval_limit < 1:
        raise RecipeError("--eval-limit must be at least 1")
    if args.method not in ("lora", "full"):
        raise RecipeError(f"METHOD `{args.method}`: use lora or full")
    if args.steps < 1 or args.batch < 1 or args.max_len < 8:
        raise RecipeError("--steps and --batch must be at least 1 and --max-len at least 8")
    args.targets = target_modules(args.targets)
    if not args.name or "/" in args.name or args.name.startswith("."):
        raise RecipeError(f"model name `{args.name}`: use letters, digits, dots and dashes")
    return args


def read_chats(path):
    chats = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise RecipeError(f"{path}:{n}: not JSON ({e})")
            msgs = obj.get("messages") if isinstance(obj, dict) else None
            ok = isinstance(msgs, list) and msgs and all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                and isinstance(m.get("content"), str) for m in msgs)
            if not ok or not any(m["role"] == "assistant" for m in msgs):
                raise RecipeError(f"{path}:{n}: expected {{\"messages\": [{{\"role\": ..., \"content\": ...}}, ...]}} with an assistant turn")
            chats.append(msgs)
    if not chats:
        raise RecipeError(f"{path} has no chats")
    return chats


def encode(tokenizer, msgs, max_len):
    """Token ids and labels: only assistant turns (their text and `<|im_end|>`) are learned.
    The pad token is `<|im_end|>` in SmolLM2, so a stock collator would mask the end token and
    the model would never learn to stop; spans are mapped by character offsets instead."""
    text = tokenizer.apply_chat_template(msgs, tokenize=False)
    spans = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        prefix = tokenizer.apply_chat_template(msgs[:i], tokenize=False, add_generation_prompt=True)
        upto = tokenizer.apply_chat_template(msgs[: i + 1], tokenize=False)
        if not text.startswith(prefix) or not text.startswith(upto):
            raise RecipeError("the chat template is not prefix-stable; cannot find the assistant turns")
        end = upto.rstrip("\n")  # keep `<|im_end|>`, not the newline after it
        spans.append((len(prefix), len(end)))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, labels = [], []
    for tok, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
        ids.append(tok)
        learned = any(s <= a and b <= e and b > a for s, e in spans)
        labels.append(tok if learned else -100)
    ids, labels = ids[:max_len], labels[:max_len]
    return (ids, labels) if any(x != -100 for x in labels) else None


def batches(examples, batch, seed):
    """Endless shuffled batches, one permutation per epoch; yields (epoch float, items)."""
    rng = random.Random(seed)
    epoch = 0
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            items = [examples[j] for j in order[start:start + batch]]
            yield epoch + (start + len(items)) / len(order), items
        epoch += 1


def trained_state(model, method):
    """What training changed: the adapters (lora) or the trained weights (full)."""
    if method == "lora":
        from peft import get_peft_model_state_dict
        return get_peft_model_state_dict(model)
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trained_state(model, state, method, torch):
    if method == "lora":
        from peft import set_peft_model_state_dict
        set_peft_model_state_dict(model, state)
        return
    params = dict(model.named_parameters())
    trained = {n for n, p in params.items() if p.requires_grad}
    if set(state) != trained:
        raise RecipeError(f"the checkpoint's {len(state)} trained weights are not the {len(trained)} "
                          f"that --method full --targets trains; resume with the run's own settings")
    with torch.no_grad():
        for n, v in state.items():
            params[n].copy_(v)


def save_checkpoint(folder, step, model, method, opt, sched, losses, tokens_total, torch):
    """Trained weights, optimizer, schedule, RNG and the loss history at `step`, written to a
    temporary folder first so a kill mid-save never leaves a checkpoint that cannot load."""
    tmp = folder + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    torch.save({"method": method, "adapter": trained_state(model, method), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "torch_rng": torch.get_rng_state()},
               os.path.join(tmp, "state.pt"))
    with open(os.path.join(tmp, "progress.json"), "w") as f:
        json.dump({"step": step, "losses": losses, "tokens_total": tokens_total}, f)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    # Only the newest checkpoint is ever resumed from (`lmdeck jobs resume`); older ones are
    # dead weight (a full fine-tune's is ~1.3 GB with its optimizer state).
    # Each is renamed out of the checkpoint-<step> pattern first (atomic), so a kill during the
    # removal never leaves a half-deleted folder that a resume would take for a checkpoint.
    parent = os.path.dirname(folder)
    for entry in os.listdir(parent):
        num = entry[len("checkpoint-"):]
        if entry.startswith("checkpoint-") and (num.isdigit() and int(num) < step or num.endswith(".stale")):
            path = os.path.join(parent, entry)
            stale = path if entry.endswith(".stale") else path + ".stale"
            os.replace(path, stale)
            shutil.rmtree(stale, ignore_errors=True)


def load_checkpoint(folder, model, method, opt, sched, torch):
    try:
        with open(os.path.join(folder, "progress.json")) as f:
            progress = json.load(f)
        state = torch.load(os.path.join(folder, "state.pt"), weights_only=False)
    except (OSError, ValueError, RuntimeError) as e:
        raise RecipeError(f"cannot resume from {folder}: {e}")
    saved = state.get("method", "lora")
    if saved != method:
        raise RecipeError(f"{folder} was trained with --method {saved}; resume with --method {saved}")
    load_trained_state(model, state["adapter"], method, torch)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return progress["step"], progress["losses"], progress["tokens_total"]


def collate(items, pad_id, torch, device):
    width = max(len(ids) for ids, _ in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for r, (i, l) in enumerate(items):
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(l)] = torch.tensor(l)
        mask[r, : len(i)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def learned_loss(model, ids, labels, mask, torch, device, bf16):
    """Shifted cross-entropy in float32 over the learned (assistant) positions only. The LM
    head (49,152 x 576, a fifth of the model's multiply-adds per token) and its softmax run on
    those positions alone: a RAG prompt is hundreds of tokens whose logits nobody learns from.
    The same mean as cross-entropy over every position with the prompt masked."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    targets = labels[:, 1:]
    learned = targets != -100
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
        hidden = causal_lm.model(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = causal_lm.lm_head(hidden[:, :-1][learned])
    return torch.nn.functional.cross_entropy(logits.float(), targets[learned])


def bf16_ok(torch, device):
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


# GGUF names of a Llama model's HF tensors; Q/K rows get llama.cpp's RoPE permutation.
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[3] in LAYER_NAMES:
        return f"blk.{parts[2]}.{LAYER_NAMES[parts[3]]}"
    return None


def permute(w, heads):
    """HF rotate-half rows to llama.cpp's adjacent-pair rows (convert_hf_to_gguf's permute)."""
    out = w.shape[0]
    return w.reshape(heads, 2, out // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(base_path, out_path, changed, heads, kv_heads):
    """The base GGUF with `changed` (GGUF name -> float32 [out, in], HF row order) replaced by
    F32 tensors; everything else (metadata, tokenizer, other tensors' raw blocks) copied."""
    import numpy as np
    from gguf import GGUFReader, GGUFWriter, GGUFValueType

    reader = GGUFReader(base_path)
    arch = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(out_path, arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    written = 0
    for t in reader.tensors:
        if t.name in changed:
            w = changed[t.name]
            if t.name.endswith("attn_q.weight"):
                w = permute(w, heads)
            elif t.name.endswith("attn_k.weight"):
                w = permute(w, kv_heads)
            writer.add_tensor(t.name, np.ascontiguousarray(w, dtype=np.float32))
            written += 1
        else:
            writer.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    if written != len(changed):
        raise RecipeError(f"{len(changed) - written} changed tensors have no place in the base GGUF")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def onnx_logits(model_dir, ids):
    """Full-prompt logits of an lmdeck ONNX folder (either layout), through the converter's
    own reader, which ships beside this recipe."""
    sys.path.insert(0, HERE)
    from gguf_to_onnx import full_pass_logits
    return full_pass_logits(os.path.join(model_dir, "model.onnx"), ids)


def merged_into(model, ref, torch):
    """The merged model at this step in `ref` (a plain copy of the base): every adapted layer's
    base weight plus its LoRA delta, computed as peft's merge computes it (W += B @ A * scale)
    but without touching the training model, so training goes on exactly as without it. A full
    fine-tune's trained weights are copied as they are."""
    from peft.tuners.lora import LoraLayer
    prefix = "base_model.model."
    with torch.no_grad():
        if not hasattr(model, "get_base_model"):
            for name, p in model.named_parameters():
                if p.requires_grad:
                    ref.get_parameter(name).copy_(p.to("cpu", torch.float32))
            return ref.eval()
        for name, module in model.named_modules():
            if not isinstance(module, LoraLayer):
                continue
            merged = module.get_base_layer().weight + module.get_delta_weight("default")
            key = (name[len(prefix):] if name.startswith(prefix) else name) + ".weight"
            ref.get_parameter(key).copy_(merged.to("cpu", torch.float32))
    return ref.eval()


def changed_tensors(merged, base_state, torch):
    """GGUF name -> float32 array of every tensor the merge changed."""
    changed = {}
    for k, v in merged.state_dict().items():
        if k in base_state and torch.equal(v, base_state[k]):
            continue
        name = gguf_name(k)
        if name is None:
            raise RecipeError(f"trained tensor {k} has no GGUF name")
        changed[name] = v.detach().numpy().copy()
    return changed


class Exporter:
    """Merged torch model -> GGUF -> lmdeck ONNX folder, checked against torch's logits."""

    def __init__(self, args, base_state, heads, kv_heads, check_ids):
        self.args, self.base_state = args, base_state
        self.heads, self.kv_heads, self.check_ids = heads, kv_heads, check_ids

    def export(self, merged, dest, gguf_dir, step=None):
        """Writes the ONNX folder `dest` (the GGUF goes to `gguf_dir`); returns the max |logit
        difference| and top-1 agreement, and fails unless the difference is within tolerance."""
        import numpy as np
        import torch
        changed = changed_tensors(merged, self.base_state, torch)
        note(f"{len(changed)} tensors changed; writing the merged GGUF")
        gguf = os.path.join(gguf_dir, f"{self.args.name}.gguf")
        write_gguf(self.args.base_gguf, gguf, changed, self.heads, self.kv_heads)
        note("converting to ONNX")
        conv = subprocess.run([sys.executable, os.path.join(HERE, "gguf_to_onnx.py"), gguf, dest,
                               "--name", self.args.name])
        if conv.returncode != 0:
            raise RecipeError(f"the GGUF converter failed (exit {conv.returncode}); see the log above")
        # The exported model must compute what torch computes (re-quantising would fail this).
        ids = self.check_ids
        with torch.no_grad():
            ref = merged(input_ids=torch.tensor([ids])).logits[0].numpy()
        got = onnx_logits(dest, ids)
        diff = float(np.abs(got - ref).max())
        top1 = float((got.argmax(-1) == ref.argmax(-1)).mean())
        tag = {} if step is None else {"step": step}
        emit(**tag, eval_onnx_max_abs_diff=diff, eval_onnx_top1_agreement=top1, eval_onnx_positions=len(ids))
        if not diff < LOGIT_TOLERANCE:
            raise RecipeError(f"the ONNX model's logits differ from torch's by {diff:.3g} (limit {LOGIT_TOLERANCE}); the model is not registered")
        return diff, top1


def run_eval(args, model_dir, step):
    """`lmdeck eval run --inline` on one exported checkpoint: (run id, metric mean, items)."""
    cmd = [args.lmdeck, "eval", "run", "--set", args.eval_set, "--set", f"model={model_dir}",
           "--set", f"name={args.name} step {step}"]
    for kv in args.eval_with:
        cmd += ["--set", kv]
    if args.eval_collection:
        cmd += ["-c", args.eval_collection]
    if args.eval_limit:
        cmd += ["--limit", str(args.eval_limit)]
    cmd += ["--inline", "--json"]
    note(f"evaluating step {step} on set {args.eval_set}")
    # stdout is the runs' JSON; the run's progress goes to stderr, into the job's log.
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RecipeError(f"evaluating step {step} failed (`lmdeck eval run` exit {proc.returncode}); see the log above")
    try:
        run = json.loads(proc.stdout)[0]
        run_id = int(run["id"])
    except (ValueError, IndexError, KeyError, TypeError):
        raise RecipeError(f"evaluating step {step}: `lmdeck eval run --json` printed no run: {proc.stdout[:500]!r}")
    if run.get("status") != "succeeded" or run.get("failed"):
        raise RecipeError(f"eval run {run_id} of step {step} is {run.get('status')} with {run.get('failed')} "
                          f"failed items: {run.get('error') or 'see `lmdeck eval show ' + str(run_id) + '`'}")
    metric = (run.get("metrics") or {}).get(args.eval_metric)
    if not isinstance(metric, dict) or not isinstance(metric.get("mean"), (int, float)):
        have = ", ".join(sorted(run.get("metrics") or {})) or "none"
        raise RecipeError(f"eval run {run_id} of step {step} has no `{args.eval_metric}` (it has: {have})")
    return run_id, float(metric["mean"]), int(metric.get("n") or 0)


class Evaluator:
    """Exports and evaluates checkpoints. Each result is kept in <checkpoints>/eval-<step>/
    result.json, so a resumed run still has the ones evaluated before the crash, and only the
    best export's model folder is kept (each is ~300 MB)."""

    def __init__(self, args, checkpoints, exporter):
        self.args, self.root, self.exporter = args, checkpoints, exporter
        self.results = {}
        self.seconds = 0.0  # spent exporting and evaluating, kept out of the training times

    def folder(self, step):
        return os.path.join(self.root, f"eval-{step}")

    def model_dir(self, step):
        return os.path.join(self.folder(step), "model")

    def steps(self):
        """The steps evaluated: each checkpoint's and the last."""
        every = self.args.save_every
        return (list(range(every, self.args.steps, every)) if every > 0 else []) + [self.args.steps]

    def evaluate(self, step, merged):
        folder = self.folder(step)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        t0 = time.time()
        # The GGUF is only a step to the ONNX folder; --work-dir keeps the chosen one.
        gguf_dir = folder if self.args.work_dir else tempfile.mkdtemp(prefix="lmdeck-finetune-")
        try:
            diff, top1 = self.exporter.export(merged, self.model_dir(step), gguf_dir, step)
        finally:
            if not self.args.work_dir:
                shutil.rmtree(gguf_dir, ignore_errors=True)
        t1 = time.time()
        run_id, value, items = run_eval(self.args, self.model_dir(step), step)
        t2 = time.time()
        result = {"step": step, "metric": self.args.eval_metric, "value": value, "run_id": run_id,
                  "items": items, "onnx_max_abs_diff": diff, "onnx_top1_agreement": top1,
                  "export_seconds": round(t1 - t0, 1), "eval_seconds": round(t2 - t1, 1)}
        tmp = os.path.join(folder, "result.json.partial")
        with open(tmp, "w") as f:
            json.dump(result, f)
        os.replace(tmp, os.path.join(folder, "result.json"))
        emit(step=step, **{f"eval_{self.args.eval_metric}": value}, eval_run_id=run_id, eval_items=items,
             eval_export_seconds=result["export_seconds"], eval_run_seconds=result["eval_seconds"])
        note(f"step {step}: {self.args.eval_metric} {value:.4f} (eval run {run_id}, {items} items; "
             f"export {t1 - t0:.1f} s, evaluation {t2 - t1:.1f} s)")
        self.results[step] = result
        self.seconds += t2 - t0
        self.prune()

    def best_step(self):
        """The step with the highest value; ties go to the earliest step (the least trained)."""
        return min(self.results, key=lambda s: (-self.results[s]["value"], s))

    def prune(self):
        """Removes every export but the best one (results stay)."""
        best = self.best_step()
        for step in self.results:
            if step != best:
                shutil.rmtree(self.model_dir(step), ignore_errors=True)
                gguf = os.path.join(self.folder(step), f"{self.args.name}.gguf")
                if os.path.exists(gguf):
                    os.remove(gguf)

    def restore(self, done):
        """On resume from step `done`: the results up to it (later ones belong to the run that
        went further and are dropped, as `jobs resume` drops its metrics). Returns whether
        step `done` itself still needs evaluating (the crash came during its evaluation)."""
        entries = os.listdir(self.root) if os.path.isdir(self.root) else []
        for entry in entries:
            num = entry[len("eval-"):]
            if not entry.startswith("eval-") or not num.isdigit():
                continue
            step, path = int(num), os.path.join(self.root, entry)
            try:
                with open(os.path.join(path, "result.json")) as f:
                    result = json.load(f)
            except (OSError, ValueError):
                result = None
            if step > done or result is None or result.get("metric") != self.args.eval_metric:
                shutil.rmtree(path, ignore_errors=True)
                continue
            self.results[step] = result
        missing = [s for s in self.steps() if s < done and s not in self.results]
        if missing:
            raise RecipeError(f"resuming at step {done}: the evaluations of steps {missing} are missing "
                              f"from {self.root}; `lmdeck jobs retry` runs the fine-tune again from the start")
        if self.results:
            best = self.best_step()
            if not os.path.isfile(os.path.join(self.model_dir(best), "model.onnx")):
                raise RecipeError(f"resuming at step {done}: the export of the best step so far ({best}) is "
                                  f"missing from {self.root}; `lmdeck jobs retry` runs the fine-tune again")
            self.prune()
            note("evaluations kept from before the resume: " + ", ".join(
                f"step {s} {self.results[s]['value']:.4f}" for s in sorted(self.results)))
        return done in self.steps() and done not in self.results

    def lineage(self, chosen):
        r = self.results
        return {"by": "task metric", "eval_set": self.args.eval_set, "metric": self.args.eval_metric,
                "chosen_step": chosen, "tie_rule": "earliest step",
                "values": {str(s): r[s]["value"] for s in sorted(r)},
                "eval_runs": {str(s): r[s]["run_id"] for s in sorted(r)},
                "items": r[chosen]["items"], "eval_limit": self.args.eval_limit,
                "eval_with": self.args.eval_with, "eval_collection": self.args.eval_collection}


def take_export(evaluator, step, dest):
    """Moves the chosen step's ONNX folder (and, with --work-dir, its GGUF) into place."""
    args = evaluator.args
    if os.path.exists(dest):
        if not os.path.isfile(os.path.join(dest, "lmdeck-model.json")):
            raise RecipeError(f"{dest} exists and is not a model lmdeck converted; choose another --name")
        shutil.rmtree(dest)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(evaluator.model_dir(step), dest)
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        shutil.move(os.path.join(evaluator.folder(step), f"{args.name}.gguf"),
                    os.path.join(args.work_dir, f"{args.name}.gguf"))


def main():
    args = parse_args()
    started = time.time()
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = args.precision == "bf16" or (args.precision == "auto" and bf16_ok(torch, device))
    if args.precision == "bf16" and not bf16_ok(torch, device):
        raise RecipeError(f"bf16 is not supported on this {device}; use --precision fp32")
    chats = read_chats(args.data)
    dataset_sha = sha256(args.data)
    base_sha = sha256(args.base_gguf)

    note(f"loading {args.base_gguf} (dequantised to float32)")
    gdir, gfile = os.path.split(os.path.abspath(args.base_gguf))
    tokenizer = AutoTokenizer.from_pretrained(gdir, gguf_file=gfile)
    model = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gfile, dtype=torch.float32)
    # transformers leaves a GGUF quantizer attached although the weights are plain float32;
    # with it Trainer-style training and saving refuse.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    cfg = model.config
    base_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # A plain copy of the base that each evaluated checkpoint's merged weights are loaded into,
    # so exporting a checkpoint never touches the model being trained.
    ref = copy.deepcopy(model).requires_grad_(False).eval() if args.eval_set else None
    msgs = [{"role": "user", "content": "What does a fine-tuned model need to prove?"}]
    prompt = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    check_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    exporter = Exporter(args, base_state, cfg.num_attention_heads, cfg.num_key_value_heads, check_ids)

    examples = [e for e in (encode(tokenizer, m, args.max_len) for m in chats) if e]
    if not examples:
        raise RecipeError(f"no chat in {args.data} keeps an assistant token within --max-len {args.max_len}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    if args.method == "lora":
        lora = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, bias="none",
                          target_modules=args.targets, task_type="CAUSAL_LM")
        model = get_peft_model(model, lora).to(device)
    else:
        # Whole weights of the target projections; the tied embedding/LM head and the norms
        # stay the base's, so the vocabulary's geometry is untouched.
        suffixes = tuple(f".{t}.weight" for t in args.targets)
        for name, p in model.named_parameters():
            p.requires_grad_(name.endswith(suffixes))
        if not any(p.requires_grad for p in model.parameters()):
            raise RecipeError(f"--targets {','.join(args.targets)} names no weight of this model")
        model = model.to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    emit(trainable_parameters=trainable, train_examples=len(examples), total_steps=args.steps,
         device_bf16=int(bf16))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    # Linear decay to zero over the run, as Hugging Face Trainer's default schedule.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / args.steps))

    model.train()
    losses, tokens_total, train_start = [], 0, time.time()
    stream = batches(examples, args.batch, args.seed)
    checkpoints = args.checkpoint_dir or os.path.abspath(args.out) + ".checkpoints"
    first = 1
    if not args.resume_from:
        # A fresh run: checkpoints left by an earlier run of the same name are not ours, and
        # `jobs resume` must never continue from them.
        shutil.rmtree(checkpoints, ignore_errors=True)
    evaluator = Evaluator(args, checkpoints, exporter) if args.eval_set else None
    if args.resume_from:
        done, losses, tokens_total = load_checkpoint(args.resume_from, model, args.method, opt, sched, torch)
        # The batch order is a function of the seed: skip what the earlier run consumed.
        for _ in range(done):
            epoch, _items = next(stream)
        first = done + 1
        note(f"resumed from {args.resume_from} at step {done}")
        emit(resumed_from_step=done)
        if evaluator and evaluator.restore(done):
            evaluator.evaluate(done, merged_into(model, ref, torch))
    for step in range(first, args.steps + 1):
        t0 = time.time()
        epoch, items = next(stream)
        ids, labels, mask = collate(items, pad_id, torch, device)
        lr = sched.get_last_lr()[0]
        loss = learned_loss(model, ids, labels, mask, torch, device, bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, 1.0).item()
        opt.step()
        sched.step()
        dt = time.time() - t0
        ntok = int(mask.sum().item())
        tokens_total += ntok
        losses.append(loss.item())
        emit(step=step, total_steps=args.steps, loss=round(loss.item(), 5), learning_rate=lr,
             grad_norm=round(grad_norm, 5), epoch=round(epoch, 4), tokens_per_second=round(ntok / dt, 1),
             step_seconds=round(dt, 3))
        note(f"step {step}/{args.steps} loss {loss.item():.4f} ({dt:.2f} s)")
        if args.save_every > 0 and step % args.save_every == 0 and step < args.steps:
            save_checkpoint(os.path.join(checkpoints, f"checkpoint-{step}"), step, model, args.method,
                            opt, sched, losses, tokens_total, torch)
            if evaluator:
                # After the save: a crash while evaluating resumes here and evaluates again.
                evaluator.evaluate(step, merged_into(model, ref, torch))
    runtime = time.time() - train_start - (evaluator.seconds if evaluator else 0.0)
    emit(train_runtime=round(runtime, 2), train_loss=round(sum(losses) / len(losses), 5),
         train_seconds_per_step=round(runtime / args.steps, 3),
         train_tokens_per_second=round(tokens_total / runtime, 1), epoch=round(epoch, 4))

    if args.method == "lora":
        note("merging the adapters")
        model = model.merge_and_unload()
    model = model.to("cpu").float().eval()
    dest = os.path.abspath(args.out)
    if evaluator:
        evaluator.evaluate(args.steps, model)
        chosen = evaluator.best_step()
        diff = evaluator.results[chosen]["onnx_max_abs_diff"]
        top1 = evaluator.results[chosen]["onnx_top1_agreement"]
        take_export(evaluator, chosen, dest)
        emit(eval_chosen_step=chosen, **{f"eval_chosen_{args.eval_metric}": evaluator.results[chosen]["value"]})
        values = ", ".join(f"{s}: {r['value']:.4f}" for s, r in sorted(evaluator.results.items()))
        note(f"chosen: step {chosen} by {args.eval_metric} ({values})")
        selection = evaluator.lineage(chosen)
    else:
        chosen = args.steps
        work = args.work_dir or tempfile.mkdtemp(prefix="lmdeck-finetune-")
        os.makedirs(work, exist_ok=True)
        try:
            diff, top1 = exporter.export(model, dest, work)
        finally:
            # The merged GGUF (~180 MB) is only a step to the ONNX folder unless asked to keep it.
            if not args.work_dir:
                shutil.rmtree(work, ignore_errors=True)
        selection = {"by": "final step", "chosen_step": chosen}

    manifest_path = os.path.join(dest, "lmdeck-model.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    job = os.environ.get("LMDECK_JOB_ID")
    manifest["lineage"] = {
        "base_model": args.base_name,
        "base_gguf_sha256": base_sha,
        "dataset": os.path.abspath(args.data),
        "dataset_sha256": dataset_sha,
        "job_id": int(job) if job and job.isdigit() else None,
        "recipe": RECIPE,
        "hyperparameters": {"steps": args.steps, "lr": args.lr, "batch": args.batch,
                            "max_len": args.max_len, "method": args.method,
                            **({"rank": args.rank, "alpha": args.alpha} if args.method == "lora" else {}),
                            "seed": args.seed, "bf16": bf16, "device": device,
                            "target_modules": args.targets},
        "metrics": {"first_loss": losses[0], "final_loss": losses[-1],
                    "train_loss": sum(losses) / len(losses), "train_runtime": runtime,
                    "seconds_per_step": runtime / args.steps,
                    "tokens_per_second": tokens_total / runtime,
                    "chosen_step_loss": losses[chosen - 1],
                    "onnx_max_abs_diff": diff, "onnx_top1_agreement": top1},
        "selection": selection,
    }
    tmp = manifest_path + ".partial"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, manifest_path)

    reg = subprocess.run([args.lmdeck, "models", "add", dest, "--name", args.name, "--base", args.base_name])
    if reg.returncode != 0:
        raise RecipeError(f"`lmdeck models add` failed (exit {reg.returncode})")
    # Registered: the checkpoints have served their purpose.
    shutil.rmtree(checkpoints, ignore_errors=True)
    emit(end_to_end_seconds=round(time.time() - started, 1))
    note(f"fine-tuned model {args.name} -> {dest}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
