"""`lmdeck serve` under concurrent streaming clients, with the official openai client: every
client must finish without an error; the server answers one generation at a time, so the
figures show the queueing (time to first token grows with a client's place in the queue)
and the server's memory before and after (bounded: the queue and the streams are bounded).

Usage: bench_serve.py BASE_URL SERVER_PID [CLIENTS] [MAX_TOKENS]
"""
import asyncio
import statistics
import sys
import time

import openai

base, pid = sys.argv[1], int(sys.argv[2])
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 16
max_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 32


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def one(client, i, t0):
    first, pieces = None, 0
    stream = await client.chat.completions.create(
        model="smollm2-135m-instruct", stream=True, max_tokens=max_tokens,
        messages=[{"role": "user", "content": f"Give me tip number {i} for writing clear documentation."}])
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces += 1
            if first is None:
                first = time.perf_counter() - t0
    return first, time.perf_counter() - t0, pieces


async def main():
    client = openai.AsyncOpenAI(base_url=base, api_key="unused", max_retries=0, timeout=600)
    before = rss_mb()
    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(client, i, t0) for i in range(clients)), return_exceptions=True)
    wall = time.perf_counter() - t0
    after = rss_mb()
    errors = [r for r in results if isinstance(r, BaseException)]
    ok = [r for r in results if not isinstance(r, BaseException)]
    print(f"{clients} concurrent streaming clients, {max_tokens} tokens each: {len(ok)} ok, {len(errors)} errors, {wall:.1f} s in all")
    for e in errors[:3]:
        print(f"  error: {e!r}")
    if ok:
        ttft = sorted(r[0] for r in ok if r[0] is not None)
        print(f"  time to first token: min {ttft[0]:.2f} s, median {statistics.median(ttft):.2f} s, max {ttft[-1]:.2f} s (queued: one generation at a time)")
        print(f"  streamed pieces: {sum(r[2] for r in ok)}; aggregate {sum(r[2] for r in ok) / wall:.1f} tokens/s")
    print(f"  server memory: RSS {before[0]:.0f} MB before, {after[0]:.0f} MB after, peak {after[1]:.0f} MB")
    sys.exit(1 if errors else 0)


asyncio.run(main())
