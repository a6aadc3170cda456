"""RAG-length prompts for scripts/bench-generate.sh, built the way lmdeck's chat builds them:
numbered sources (sample-data/corpus documents) before the question, sized by the model's
own tokenizer to about the lengths asked for (the chat template's tokens included).

Usage: make_prompts.py MODEL_DIR CORPUS_DIR OUT_DIR LENGTH...
Writes OUT_DIR/prompt-LENGTH.txt for each LENGTH; a length under 100 gets the question alone.
"""
import os
import sys

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
from generate_baseline import chat_ids  # noqa: E402

QUESTION = ("Explain in detail how a GPU cluster scheduler decides where to place a training job, "
            "and what can go wrong.")


def documents(corpus):
    for root, _, files in sorted(os.walk(corpus)):
        for name in sorted(files):
            if name.endswith((".md", ".txt")):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    yield name, " ".join(f.read().split())


def prompt(sources):
    numbered = "\n\n".join(f"[{i}] {name}\n{text}" for i, (name, text) in enumerate(sources, 1))
    return ("Answer the question using the numbered sources below and cite them like [1].\n\n"
            f"Sources:\n{numbered}\n\nQuestion: {QUESTION}")


def build(tok, corpus, target):
    if target < 100:
        return QUESTION
    sources = []
    for name, text in documents(corpus):
        words = text.split()
        # Add the document a slice at a time until the prompt reaches its length.
        for cut in range(10, len(words) + 10, 10):
            trial = sources + [(name, " ".join(words[:cut]))]
            if len(chat_ids(tok, prompt(trial))) >= target:
                return prompt(trial)
        sources.append((name, text))
    sys.exit(f"the corpus in {corpus} is too small for a {target}-token prompt")


def main():
    model_dir, corpus, out_dir, *lengths = sys.argv[1:]
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    os.makedirs(out_dir, exist_ok=True)
    for n in map(int, lengths):
        text = build(tok, corpus, n)
        with open(os.path.join(out_dir, f"prompt-{n}.txt"), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"prompt-{n}.txt: {len(chat_ids(tok, text))} tokens")


if __name__ == "__main__":
    main()
