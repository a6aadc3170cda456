#!/usr/bin/env python3
"""Checks that a fine-tuning QA set stays apart from an evaluation QA set.

Fails (exit 1) when any training question is near-identical to an evaluation question:
token Jaccard >= 0.5 after SQuAD normalisation (lowercase, punctuation stripped, articles
a/an/the dropped, split on whitespace). Also fails on duplicate ids, a training question asked
twice, or a doc_path that is not a file of the corpus. Prints the closest pairs for review.

With --review-answers it also lists, for a person to read, every training answer that shares
a figure (a token with a digit, $ or %) with an evaluation answer about the same document: the
answers may state neighbouring facts of a document, never the evaluation's own (a figure shared
for a different fact, say a common "30 days", is fine; one stating an evaluation fact is a leak).

Usage: check_disjoint.py [--review-answers] [TRAIN] [EVAL] [CORPUS_DIR]
(defaults: sample-data/finetune/qa-train.jsonl sample-data/eval/qa.jsonl sample-data/corpus)
"""
import json
import os
import re
import string
import sys

THRESHOLD = 0.5
PUNCT = set(string.punctuation)


def tokens(text):
    text = "".join(ch for ch in text.lower() if ch not in PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return set(text.split())


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 0.0


def load(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
            for field in ("id", "question", "answer", "doc_paths"):
                if field not in item:
                    sys.exit(f"{path}:{n}: missing field `{field}`")
            items.append(item)
    return items


def figures(text):
    """Tokens of `text` that carry a figure (a digit, $ or %), punctuation at their edges cut."""
    out = set()
    for word in text.split():
        word = word.strip(".,;:()[]'\"").lower()
        if any(ch.isdigit() or ch in "$%" for ch in word):
            out.add(word)
    return out


def review_answers(train, evals):
    """(eval id, train id, shared figures, eval answer, train answer) for same-document pairs."""
    out = []
    for e in evals:
        gold = figures(e["answer"])
        for t in train:
            if not set(t["doc_paths"]) & set(e["doc_paths"]):
                continue
            shared = sorted(gold & figures(t["answer"]))
            if shared:
                out.append((e["id"], t["id"], shared, e["answer"], t["answer"]))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    args = [a for a in sys.argv[1:] if a != "--review-answers"]
    train_path = args[0] if len(args) > 0 else os.path.join(here, "qa-train.jsonl")
    eval_path = args[1] if len(args) > 1 else os.path.join(root, "eval", "qa.jsonl")
    corpus = args[2] if len(args) > 2 else os.path.join(root, "corpus")
    train, evals = load(train_path), load(eval_path)
    problems = []

    ids = [t["id"] for t in train]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids in the training set")
    seen = {}
    for t in train:
        key = " ".join(sorted(tokens(t["question"])))
        if key in seen:
            problems.append(f"{t['id']} asks the same as {seen[key]}")
        seen[key] = t["id"]
        for p in t["doc_paths"]:
            if not os.path.isfile(os.path.join(corpus, p)):
                problems.append(f"{t['id']}: doc_path {p} is not in {corpus}")

    pairs = []
    for t in train:
        tq = tokens(t["question"])
        for e in evals:
            pairs.append((jaccard(tq, tokens(e["question"])), t["id"], e["id"], t["question"], e["question"]))
    pairs.sort(reverse=True)
    for score, tid, eid, tq, eq in pairs:
        if score >= THRESHOLD:
            problems.append(f"{tid} is near-identical to eval {eid} (Jaccard {score:.2f}): {tq!r} vs {eq!r}")

    docs = {p for t in train for p in t["doc_paths"]}
    print(f"{len(train)} training questions over {len(docs)} documents; {len(evals)} eval questions")
    print("closest training/eval question pairs (token Jaccard):")
    for score, tid, eid, tq, eq in pairs[:5]:
        print(f"  {score:.2f}  {tid} {tq!r}\n        {eid} {eq!r}")
    if "--review-answers" in sys.argv:
        shared = review_answers(train, evals)
        print(f"{len(shared)} same-document answer pairs share a figure; read each one:")
        for eid, tid, figs, ea, ta in shared:
            print(f"  {eid} / {tid} {figs}\n        eval:  {ea}\n        train: {ta}")
    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    print(f"ok: no training question reaches Jaccard {THRESHOLD} with an eval question")
    return 0


if __name__ == "__main__":
    sys.exit(main())
