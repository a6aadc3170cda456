"""Real-terminal figures for the console, measured by driving the binary in tmux:

1. cold start: process start to the first frame showing the sample collection, against the
   same binary printing --version (process start alone) as the baseline;
2. idle CPU: CPU time the console uses while nothing happens (it should block, not redraw);
3. key to frame: a key press until the screen (with styles) changes, while an ingestion runs
   in the background, against the same measurement with no ingestion;
4. log flood: a job printing 50,000 JSON metric lines a second for 20 s (scripts/bench/
   flood_job.py) with its detail open in the console (log followed, chart shown): key to frame
   against the same console before the flood (the job silent) and after the job ended, every printed step
   stored, and the console's peak RSS (VmHWM) against its peak before the flood.

Usage: python3 scripts/bench_console.py BIN DB INGEST_SOURCE [--flood-only]
"""
import json
import os
import re
import sqlite3
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


def start(command, extra_env=None):
    # A fresh tmux server per run: a server that is still shutting down refuses new sessions.
    global SOCKET, RUN
    RUN += 1
    SOCKET = f"lmdeck-bench-{os.getpid()}-{RUN}"
    env = {**os.environ, "LMDECK_DB": DB, "TERM": "xterm-256color", **(extra_env or {})}
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


def console_pid():
    pid = int(tmux("display", "-p", "-t", "main", "#{pane_pid}", capture=True).strip())
    # The pane runs a shell; the console is its child.
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return int(children[0]) if children else pid


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
    pid = console_pid()
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


CHARTS = ["loss", "eval loss", "learning rate", "grad norm", "tokens/s"]
TITLE = re.compile(r"([a-z/ ]+) \(v: loss")


def chart_title(s):
    m = TITLE.search(s)
    return m.group(1).strip() if m else None


def chart_latency(keys=40, gap=0.02):
    """Key to frame where the screen changes by itself (a followed log): `v` moves the chart
    to the next metric, and the wait is for that chart's title, not for any change."""
    samples = []
    for _ in range(keys):
        shown = screen()
        current = chart_title(shown)
        if current not in CHARTS:
            raise SystemExit(f"no chart title on screen:\n{shown}")
        want = CHARTS[(CHARTS.index(current) + 1) % len(CHARTS)]
        t0 = time.perf_counter()
        tmux("send-keys", "-t", "main", "v")
        while chart_title(screen()) != want:
            if time.perf_counter() - t0 > 5:
                raise SystemExit(f"the chart did not change within 5 s; screen:\n{screen()}")
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(gap)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def flood(rate=50_000, seconds=float(os.environ.get("FLOOD_SECONDS", "20"))):
    global DB
    tmp = tempfile.mkdtemp(prefix="lmdeck-flood-")
    saved_db, DB = DB, os.path.join(tmp, "flood.db")
    # Jobs and their logs stay in the temp dir; the data dir is the usual one, so the console
    # finds its models as in the other measurements.
    jobs_env = {"LMDECK_JOBS_DIR": os.path.join(tmp, "jobs"), "LMDECK_DB": DB}
    env = dict(os.environ, **jobs_env)
    lmdeck = lambda *args: subprocess.run([BIN, *args], env=env, capture_output=True, text=True, check=True).stdout
    gate = os.path.join(tmp, "go")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench", "flood_job.py")
    spec = os.path.join(tmp, "flood.toml")
    # The job prints 100 steps, then waits for the gate file before the flood, so the console
    # can open its detail (with a chart) and take the no-flood baseline on the same screen.
    with open(spec, "w") as f:
        f.write(f'name = "flood"\ncommand = {json.dumps(["python3", script, str(rate), str(seconds), gate])}\n'
                'env = { PYTHONUNBUFFERED = "1" }\n')
    job = None
    try:
        job = json.loads(lmdeck("jobs", "submit", spec, "--json"))["id"]
        start(f"{BIN} console; sleep 600", jobs_env)
        wait_for(lambda s: "4 Jobs" in s, timeout=60)
        tmux("send-keys", "-t", "main", "4")
        wait_for(lambda s: "flood" in s and "running" in s)
        tmux("send-keys", "-t", "main", "Enter")
        wait_for(lambda s: f"Job #{job} flood" in s and chart_title(s) is not None and '"step": 100,' in s)
        pid = console_pid()
        time.sleep(1.0)
        quiet_p50, quiet_p95 = chart_latency()
        quiet_hwm = status_kib(pid, "VmHWM")

        open(gate, "w").close()
        wait_for(lambda s: '"step": 100,' not in s)
        t_flood = time.perf_counter()
        time.sleep(1.0)  # into the flood
        # Keys spread over most of the flood, as the log and the stored series grow.
        busy_p50, busy_p95 = chart_latency(gap=max(0.02, (seconds - 4) / 40))
        busy_elapsed = time.perf_counter() - t_flood
        # Stay on the flood until the job ends, then let the console catch up.
        while json.loads(lmdeck("jobs", "show", str(job), "--json"))["state"] == "running":
            time.sleep(0.5)
        t_end = time.perf_counter() - t_flood
        time.sleep(2.0)
        after_p50, after_p95 = chart_latency()
        flood_hwm = status_kib(pid, "VmHWM")
        anon, file_rss = status_kib(pid, "RssAnon"), status_kib(pid, "RssFile")
        shown = json.loads(lmdeck("jobs", "show", str(job), "--json"))
        summary = lmdeck("jobs", "logs", str(job), "--stderr").strip().splitlines()
        tmux("send-keys", "-t", "main", "q")
        stop()
        printed = int(rate * seconds)
        # `jobs show --json` thins long series for charts, so the count of stored steps is
        # read from the database itself; the shown last step must be the last one printed.
        with sqlite3.connect(DB) as conn:
            steps, rows, last = conn.execute(
                "SELECT count(DISTINCT step), count(*), max(step) FROM job_metrics WHERE job_id = ?", (job,)).fetchone()
        shown_last = shown["metrics"][-1]["step"] if shown["metrics"] else None
        lost = printed - steps
        print(f"log flood ({rate}/s for {seconds} s, job {job} {shown['state']}, ended {t_end:.1f} s after the flood began):")
        print(f"  key to frame, job silent:      p50 {quiet_p50:.1f} ms  p95 {quiet_p95:.1f} ms (chart key v, same console)")
        print(f"  key to frame, during flood:    p50 {busy_p50:.1f} ms  p95 {busy_p95:.1f} ms (goal < 50 ms); "
              f"ratio to no job {busy_p50 / quiet_p50:.2f}x; keys spread over the flood's first {busy_elapsed:.1f} s")
        print(f"  key to frame, job ended:       p50 {after_p50:.1f} ms  p95 {after_p95:.1f} ms (same screen, whole log stored)")
        print(f"  the job reported: {summary[-1] if summary else '(nothing on stderr)'}")
        print(f"  metrics: {printed} steps printed, {steps} stored ({rows} values), {lost} lost; "
              f"last step {last}, jobs show --json last step {shown_last} ({len(shown['metrics'])} points shown)")
        print(f"  console peak RSS (VmHWM): {quiet_hwm / 1024:.1f} MiB before the flood, {flood_hwm / 1024:.1f} MiB after "
              f"({(flood_hwm - quiet_hwm) / 1024:+.1f} MiB); RSS at the end: {anon / 1024:.1f} MiB anonymous, "
              f"{file_rss / 1024:.1f} MiB file-backed")
    finally:
        stop()
        # A run cut short must not leave the job waiting at its gate.
        if job is not None:
            subprocess.run([BIN, "jobs", "cancel", str(job)], env=env, capture_output=True)
        subprocess.run([BIN, "jobs", "daemon", "--stop"], env=env, capture_output=True)
        DB = saved_db


try:
    if "--flood-only" in sys.argv[4:]:
        flood()
    else:
        main()
        flood()
finally:
    stop()
