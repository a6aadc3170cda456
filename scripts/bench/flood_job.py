"""A job that floods its log: JSON metric lines at a fixed rate, written in batches.

Usage: python3 flood_job.py [LINES_PER_SECOND] [SECONDS] [GATE_FILE]   (default 50000 for 20 s)
Prints one `{"step": N, "loss": ...}` line per step, N from 1. With GATE_FILE, the first 100
steps come at once and the flood waits until that file exists (so a benchmark can look at the
job's chart before the flood). Ends with a summary on stderr: the number of lines printed.
"""
import json
import os
import sys
import time

rate = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
gate = sys.argv[3] if len(sys.argv) > 3 else None
batch = max(1, rate // 20)  # 20 writes a second: bursts like a trainer's logging, not one line per syscall
total = int(rate * seconds)


def write(first, n):
    lines = [json.dumps({"step": i, "loss": round(2.0 / i ** 0.5, 6), "learning_rate": 1e-4})
             for i in range(first, first + n)]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


step = 0
if gate:
    write(1, 100)
    step = 100
    while not os.path.exists(gate):
        time.sleep(0.05)
start = time.monotonic()
flooded = 0
while step < total:
    n = min(batch, total - step)
    write(step + 1, n)
    step += n
    flooded += n
    # Hold the rate: sleep until the time this many lines are due.
    delay = start + flooded / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
elapsed = time.monotonic() - start
print(f"flood: {step} lines, {flooded} in {elapsed:.1f} s ({flooded / elapsed:.0f}/s)", file=sys.stderr, flush=True)
