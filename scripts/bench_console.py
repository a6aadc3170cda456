"""Real-terminal figures for the console, measured by driving the binary in tmux:

1. cold start: process start to the first frame showing the sample collection, against the
   same binary printing --version (process start alone) as the baseline;
2. idle CPU: CPU time the console uses while nothing happens (it should block, not redraw);
3. key to frame: a key press until the screen (with styles) changes, while an ingestion runs
   in the background, against the same measurement with no ingestion.

Usage: python3 scripts/bench_console.py BIN DB INGEST_SOURCE
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

BIN, DB, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
SOCKET = ""
RUN = 0


def tmux(*args, capture=False):
    out = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True)
    return out.stdout if capture else None


def screen(styles=False):
    return tmux("capture-pane", "-p", *(["-e"] if styles else []), "-t", "main", capture=True)


def start(command):
    # A fresh tmux server per run: a server that is still shutting down refuses new sessions.
    global SOCKET, RUN
    RUN += 1
    SOCKET = f"lmdeck-bench-{os.getpid()}-{RUN}"
    env = dict(os.environ, LMDECK_DB=DB, TERM="xterm-256color")
    subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", "new-session", "-d", "-s", "main",
                    "-x", "200", "-y", "60", command], env=env, check=True)


def stop():
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def wait_for(check, timeout=30.0):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        s = screen()
        if check(s):
            return time.perf_counter() - t0
        time.sleep(0.001)
    raise SystemExit(f"timed out; screen:\n{screen()}")


def cold_start(runs=5):
    console, plain = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        start(f"{BIN} console --collection sample; sleep 30")
        wait_for(lambda s: "documents" in s and "sample" in s)
        console.append((time.perf_counter() - t0) * 1000)
        stop()
        t0 = time.perf_counter()
        start(f"{BIN} --version; sleep 30")
        wait_for(lambda s: "lmdeck" in s)
        plain.append((time.perf_counter() - t0) * 1000)
        stop()
    return statistics.median(console), statistics.median(plain)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def key_latency(keys=40):
    samples = []
    for i in range(keys):
        before = screen(styles=True)
        t0 = time.perf_counter()
        tmux("send-keys", "-t", "main", "j" if i % 2 == 0 else "k")
        while screen(styles=True) == before:
            if time.perf_counter() - t0 > 5:
                raise SystemExit("the console did not react to a key within 5 s")
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    console_ms, plain_ms = cold_start()
    print(f"cold start to first frame: median {console_ms:.0f} ms (goal < 300 ms); "
          f"process start alone ({BIN} --version in the same harness): {plain_ms:.0f} ms; ratio {console_ms / plain_ms:.2f}x")

    start(f"{BIN} console --collection sample; sleep 300")
    wait_for(lambda s: "CPUExecutionProvider" in s or "CUDAExecutionProvider" in s, timeout=60)
    pid = int(tmux("display", "-p", "-t", "main", "#{pane_pid}", capture=True).strip())
    # The pane runs a shell; the console is its child.
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pid = int(children[0]) if children else pid
    time.sleep(1.0)
    c0 = cpu_seconds(pid)
    time.sleep(5.0)
    idle = cpu_seconds(pid) - c0
    print(f"idle: {idle * 1000:.0f} ms of CPU in 5 s ({idle / 5 * 100:.2f}% of a core)")

    quiet_p50, quiet_p95 = key_latency()
    with tempfile.TemporaryDirectory() as tmp:
        ingest = subprocess.Popen([BIN, "--db", os.path.join(tmp, "load.db"), "ingest", SOURCE, "--collection", "load"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # past model start-up: embedding is using every core
        busy_p50, busy_p95 = key_latency()
        running = ingest.poll() is None
        ingest.kill()
        ingest.wait()
    print(f"key to frame, idle machine:        p50 {quiet_p50:.1f} ms  p95 {quiet_p95:.1f} ms (includes tmux capture polling)")
    print(f"key to frame, ingestion running:   p50 {busy_p50:.1f} ms  p95 {busy_p95:.1f} ms (goal < 50 ms); "
          f"ratio to idle {busy_p50 / quiet_p50:.2f}x{'' if running else ' (warning: the ingestion ended early)'}")
    tmux("send-keys", "-t", "main", "q")
    stop()


try:
    main()
finally:
    stop()
