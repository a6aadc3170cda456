"""Drives `lmdeck serve` with the official `openai` Python client: models, a whole answer, a
streamed answer grounded in a collection, embeddings, and the error types for an unknown
model and a wrong key. Prints one JSON object for the Rust test to check.

Usage: openai_client.py BASE_URL API_KEY COLLECTION
"""
import json
import sys

import openai

base, key, collection = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=120)
out = {}
out["models"] = [m.id for m in client.models.list().data]
model = out["models"][0]

r = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=24)
out["plain"] = {"text": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                "total_tokens": r.usage.total_tokens}

pieces, finish = [], None
stream = client.chat.completions.create(
    model=f"{model}@{collection}", stream=True, max_tokens=24,
    messages=[{"role": "user", "content": "How do I drain a GPU node?"}])
for chunk in stream:
    if chunk.choices:
        delta = chunk.choices[0].delta.content
        if delta:
            pieces.append(delta)
        finish = chunk.choices[0].finish_reason or finish
out["stream"] = {"pieces": len(pieces), "text": "".join(pieces), "finish": finish}

e = client.embeddings.create(model="all-minilm-l6-v2-int8", input=["drain a node", "reset a password"])
out["embeddings"] = [len(d.embedding) for d in e.data]

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    out["not_found"] = None
except openai.NotFoundError as err:
    out["not_found"] = {"status": err.status_code, "message": str(err)}

try:
    openai.OpenAI(base_url=base, api_key="wrong-key", max_retries=0).models.list()
    out["auth"] = None
except openai.AuthenticationError as err:
    out["auth"] = {"status": err.status_code}

print(json.dumps(out))
