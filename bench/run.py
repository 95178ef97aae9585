#!/usr/bin/env python3
"""make bench: chang side by side with gdb and eu-stack on the same targets, in one run.

For N threads (default 10, 100, 1000, 10000) it starts bench/target.c, then times live
captures (chang attach, the minimal freeze-copy-detach floor, eu-stack -i -p, gdb -p
'thread apply all bt') and core analyses (chang core, gdb, eu-stack --core) of one gcore
core, checks that each tool printed every thread, and prints medians of wall time, peak
RSS and the pause the target saw, with ratios to chang. Writes bench/out/results.md."""
import argparse
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
CHANG = os.path.join(ROOT, "chang")


def build_big(functions=100000, per_file=2500):
    """An executable with tens of thousands of functions and full DWARF, made of many
    compile units, running the same target code: only the CUs holding PCs should cost."""
    big = os.path.join(OUT, "big")
    if os.path.exists(big):
        return big
    gen = os.path.join(OUT, "bigsrc")
    os.makedirs(gen, exist_ok=True)
    objs = []
    for f in range(functions // per_file):
        src = os.path.join(gen, "gen%03d.c" % f)
        with open(src, "w") as o:
            o.write("struct rec%d { long a[8]; double d; const char *name; struct rec%d *next; };\n" % (f, f))
            for i in range(per_file):
                k = f * per_file + i
                o.write("struct arg%d { long m0, m1, m2, m3, m4, m5, m6, m7; double d0, d1, d2, d3;"
                        " const char *s0, *s1; struct rec%d *link; };\n" % (k, f))
                o.write("__attribute__((used, noinline)) long gen_%d(struct rec%d *r, struct arg%d *g, long x) {\n"
                        "  long acc = x + g->m0 + g->m7 + (long)g->d3;\n"
                        "  for (int i = 0; i < 8; i++) acc += r->a[i] * %d;\n"
                        "  if (r->next) acc += (long)r->next->d;\n  return acc + %d;\n}\n" % (k, f, k, k % 97, k))
        obj = src[:-2] + ".o"
        subprocess.run(["gcc", "-O1", "-g3", "-c", "-o", obj, src], check=True)
        objs.append(obj)
    subprocess.run(["gcc", "-O2", "-g3", "-pthread", "-o", big, os.path.join(ROOT, "bench", "target.c")] + objs,
                   check=True)
    return big


def build():
    os.makedirs(OUT, exist_ok=True)
    for name in ("target", "floor", "rss"):
        subprocess.run(["gcc", "-O2", "-g", "-pthread", "-o", os.path.join(OUT, name),
                        os.path.join(ROOT, "bench", name + ".c")], check=True)


class Target:
    def __init__(self, n, exe=None):
        self.proc = subprocess.Popen([exe or os.path.join(OUT, "target"), str(n)], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        line = self.readline(120)
        m = re.match(r"READY (\d+) (\d+)", line)
        if not m:
            raise SystemExit("target did not start: %r" % line)
        self.pid, self.threads = int(m.group(1)), int(m.group(2))
        self.buf = b""
        # let every thread reach its blocking call (the kernel says when)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = []
            for t in os.listdir("/proc/%d/task" % self.pid):
                try:
                    s = open("/proc/%d/task/%s/stat" % (self.pid, t)).read()
                    st.append(s[s.rindex(")") + 2])
                except OSError:
                    pass
            if sum(1 for s in st if s in "SD") >= len(st) - 1:
                break
            time.sleep(0.01)

    def readline(self, timeout):
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not r:
                break
            c = os.read(fd, 1)
            if not c:
                break
            buf += c
        return buf.decode()

    def gap_ms(self):
        """The longest gap the heartbeat saw since the last call."""
        os.kill(self.pid, signal.SIGUSR2)
        line = self.readline(30)
        m = re.match(r"GAP (\d+)", line)
        return int(m.group(1)) / 1000.0 if m else float("nan")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run_rss(cmd, timeout, env=None):
    """Run cmd; returns (wall seconds, peak RSS MiB via wait4, stdout, stderr, exit code)."""
    rss_file = os.path.join(OUT, "rss.tmp")
    cmd = [os.path.join(OUT, "rss"), rss_file] + list(cmd)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=open(os.path.join(OUT, "stdout.tmp"), "w"),
                         stderr=open(os.path.join(OUT, "stderr.tmp"), "w"), stdin=subprocess.DEVNULL,
                         start_new_session=True, env=dict(os.environ, **(env or {})))
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            os.wait4(p.pid, 0)
            return float("inf"), float("nan"), "", "timeout", -9
        time.sleep(0.002)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    out = open(os.path.join(OUT, "stdout.tmp"), errors="replace").read()
    err = open(os.path.join(OUT, "stderr.tmp"), errors="replace").read()
    try:
        rss = int(open(rss_file).read()) / 1024.0
    except (OSError, ValueError):
        rss = float("nan")
    return wall, rss, out, err, p.returncode


def count_threads(tool, out):
    if tool.startswith("chang"):
        m = re.search(r"^(\d+) threads?,", out, re.M)
        return int(m.group(1)) if m else 0
    if tool.startswith("eu-stack"):
        return len(re.findall(r"^TID \d+:", out, re.M))
    if tool.startswith("gdb"):
        return len(re.findall(r"^Thread \d+ \(", out, re.M))
    return 0


# chang keeps inflated debug files in a cache (symbols/debugcache.h): the plain rows use a
# warm one (as every run after the first on a machine does), the "cold" row none at all.
CACHE = os.path.join(OUT, "debuginfo-cache")
WARM = {"CHANG_CACHE_DIR": CACHE}
COLD = {"CHANG_CACHE_DIR": "off"}


def bench_live(t, reps_fast, reps_slow, slow_timeout):
    rows = []
    tools = [
        ("chang attach", [CHANG, "attach", "--pid", str(t.pid), "--stats"], reps_fast),
        ("chang attach, no debuginfo cache", [CHANG, "attach", "--pid", str(t.pid), "--stats"], reps_fast),
        # the same capture also writing a mini core: its pause should stay near the plain one
        ("chang attach --save-core (mini)", [CHANG, "attach", "--pid", str(t.pid), "--stats", "--save-core",
                                             os.path.join(OUT, "mini.core")], reps_fast),
        ("floor (freeze-copy-detach)", [os.path.join(OUT, "floor"), str(t.pid)], reps_fast),
        ("eu-stack -i -p", ["eu-stack", "-i", "-p", str(t.pid)], reps_slow),
        ("gdb thread apply all bt", ["gdb", "-nx", "-batch", "-p", str(t.pid), "-ex", "thread apply all bt"], reps_slow),
    ]
    for name, cmd, reps in tools:
        walls, rss, pauses, complete = [], [], [], True
        env = COLD if "no debuginfo cache" in name else WARM
        if name.startswith("chang") and env is WARM:
            run_rss(cmd, slow_timeout, env)     # fills the cache
        for _ in range(reps):
            t.gap_ms()
            wall, r, out, err, rc = run_rss(cmd, slow_timeout, env)
            gap = t.gap_ms()
            walls.append(wall)
            rss.append(r)
            if name.startswith("chang"):
                m = re.search(r"pause ([\d.]+) ms", err)
                pauses.append(float(m.group(1)) if m else gap)
            elif name.startswith("floor"):
                m = re.search(r"pause ([\d.]+) ms", out)
                pauses.append(float(m.group(1)) if m else gap)
            else:
                pauses.append(gap)
            if not name.startswith("floor") and count_threads(name, out + err) < t.threads:
                complete = False
            if wall == float("inf"):
                break
        rows.append((name, "live", statistics.median(walls), statistics.median(rss), statistics.median(pauses), complete))
    if os.path.exists(os.path.join(OUT, "mini.core")):
        os.unlink(os.path.join(OUT, "mini.core"))
    return rows


def bench_core(t, n, reps_fast, reps_slow, slow_timeout):
    core_prefix = os.path.join(OUT, "core")
    t0 = time.monotonic()
    subprocess.run(["gcore", "-o", core_prefix, str(t.pid)], capture_output=True, timeout=600)
    gcore_s = time.monotonic() - t0
    core = "%s.%d" % (core_prefix, t.pid)
    exe = os.path.join(OUT, "target")
    size_mb = os.path.getsize(core) / 2**20
    rows = []
    tools = [
        ("chang core", [CHANG, "core", exe, core], reps_fast),
        ("chang core, no debuginfo cache", [CHANG, "core", exe, core], reps_fast),
        ("eu-stack --core", ["eu-stack", "-i", "--core=" + core, "-e", exe], reps_slow),
        ("gdb core", ["gdb", "-nx", "-batch", exe, core, "-ex", "thread apply all bt"], reps_slow),
    ]
    for name, cmd, reps in tools:
        walls, rss, complete = [], [], True
        env = COLD if "no debuginfo cache" in name else WARM
        for _ in range(reps):
            wall, r, out, err, rc = run_rss(cmd, slow_timeout, env)
            walls.append(wall)
            rss.append(r)
            if count_threads(name, out + err) < t.threads:
                complete = False
            if wall == float("inf"):
                break
        rows.append((name, "core %.0f MiB" % size_mb, statistics.median(walls), statistics.median(rss), None, complete))
    os.unlink(core)
    return rows, gcore_s


def fmt_s(x):
    if x == float("inf"):
        return "timeout"
    return "%.3f s" % x if x < 10 else "%.1f s" % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--no-core", action="store_true")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--big", action="store_true", help="also compare a 100+ MB executable with full DWARF")
    a = ap.parse_args()
    build()
    lines = ["| threads | tool | input | wall (median) | peak RSS | target paused | all threads printed | wall vs chang |",
             "|---:|---|---|---:|---:|---:|:---:|---:|"]
    for n in [int(x) for x in a.sizes.split(",")]:
        t = Target(n)
        try:
            slow = 3 if n <= 1000 else 1
            rows = bench_live(t, 5, slow, a.timeout)
            if not a.no_core:
                crows, gcore_s = bench_core(t, n, 3, slow, a.timeout)
                rows += crows
                rows.append(("gcore (for reference)", "live", gcore_s, float("nan"), None, True))
        finally:
            t.stop()
        base = {}
        for r in rows:
            if r[0].startswith("chang"):
                base.setdefault(r[1].split()[0], r[2])
        for name, inp, wall, rss, pause, complete in rows:
            ratio = wall / base.get(inp.split()[0], float("nan"))
            lines.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                t.threads, name, inp, fmt_s(wall),
                "%.0f MiB" % rss if rss == rss and rss is not None else "-",
                "%.1f ms" % pause if pause is not None and pause == pause else "-",
                "yes" if complete else "NO", "%.1fx" % ratio if ratio == ratio and ratio != float("inf") else "-"))
        print("\n".join(lines[-len(rows):]), flush=True)
    if a.big:
        big = build_big()
        mb = os.path.getsize(big) / 2**20
        for exe, label in ((os.path.join(OUT, "target"), "small executable"), (big, "executable of %.0f MiB" % mb)):
            t = Target(1000, exe)
            try:
                walls = []
                for _ in range(5):
                    wall, rss, out, err, rc = run_rss([CHANG, "attach", "--pid", str(t.pid)], a.timeout, WARM)
                    walls.append(wall)
                lines.append("| %d | chang attach, %s | live | %s | %.0f MiB | - | %s | - |" % (
                    t.threads, label, fmt_s(statistics.median(walls)), rss,
                    "yes" if count_threads("chang", out) >= t.threads else "NO"))
                print(lines[-1], flush=True)
            finally:
                t.stop()
    uname = os.uname()
    hdr = "Measured on %s %s, %d CPUs, %s, %s\n\n" % (
        uname.sysname, uname.release, os.cpu_count(),
        subprocess.run([CHANG, "--version"], capture_output=True, text=True).stdout.strip(),
        time.strftime("%Y-%m-%d"))
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(hdr + "\n".join(lines) + "\n")
    print("\n" + hdr + "\n".join(lines))


if __name__ == "__main__":
    main()
