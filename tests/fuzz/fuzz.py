#!/usr/bin/env python3
"""Running the libFuzzer targets that `make fuzz-bins` builds into build/fuzz/.

    fuzz.py --smoke              every target a fixed number of runs (RUNS, capped in time)
                                 from its committed seeds, its regression inputs and the
                                 build-time corpus; what `make check` runs, through tests/run.py
    fuzz.py --seconds N [T ...]  every target (or those named) for N seconds, keeping what it
                                 finds in build/fuzz/grown/T and crashes in build/fuzz/crashes/T

Two targets run at a time. A target fails when libFuzzer reports anything: a sanitizer
error, a broken FUZZ_CHECK, a leak, an input slower than TIMEOUT seconds, memory beyond
RSS_MB. A crash found becomes a regression input: copy it into tests/fuzz/regressions/T/."""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build", "fuzz")
CORPUS = os.path.join(BUILD, "corpus")	# made by gen_corpus.py, read only
GROWN = os.path.join(BUILD, "grown")	# what long runs add; smoke runs leave it out
SEEDS = os.path.join(HERE, "seeds")
REGRESSIONS = os.path.join(HERE, "regressions")
PARALLEL = 2
TIMEOUT = 10
RSS_MB = 2048
# Runs per target in the smoke test, and the time cap on each. The whole-pipeline targets
# open real ELF files through libdw on every run and get fewer, the fast core_open more;
# the whole smoke run takes about 20 s on two cores.
RUNS = {"core": 400, "go_binary": 200, "module": 400, "core_open": 20000, "inflate": 1000}
DEFAULT_RUNS = 3000
# Targets that also read another's inputs: the same cores, opened only or analysed whole.
SHARES = {"core_open": "core"}
# libFuzzer cuts inputs at 1 MiB unless told otherwise; Go executables are larger.
MAX_LEN = {"go_binary": 4 << 20, "module": 4 << 20, "inflate": 8 << 20}
SMOKE_CAP = 20


def targets():
    return sorted(os.path.basename(b)[len("fuzz_"):] for b in glob.glob(os.path.join(BUILD, "fuzz_*"))
                  if os.access(b, os.X_OK) and not b.endswith(".d"))


def corpus_stamp_ok():
    stamp = os.path.join(CORPUS, ".stamp")
    if not os.path.exists(stamp):
        return False
    t = os.path.getmtime(stamp)
    return all(os.path.getmtime(os.path.join(HERE, f)) <= t for f in ("gen_corpus.py", "corefile.py"))


def make_corpus():
    """The build-time corpus (gen_corpus.py), made once per change of its generator.
    Returns None, or what went wrong."""
    if corpus_stamp_ok():
        return None
    shutil.rmtree(CORPUS, ignore_errors=True)
    r = subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"), CORPUS], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        return "gen_corpus.py failed:\n" + (r.stdout + r.stderr)[-3000:]
    open(os.path.join(CORPUS, ".stamp"), "w").close()
    return None


def env():
    e = dict(os.environ)
    e["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:allocator_may_return_null=0"
    e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    e["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % os.path.join(HERE, "lsan.supp")
    return e


def command(t, smoke, seconds, scratch, artifacts):
    """libFuzzer's arguments: the first corpus directory is where new inputs go (a scratch
    directory for smoke runs, so the committed ones never change); the others are read."""
    cmd = [os.path.join(BUILD, "fuzz_" + t), "-seed=1", "-timeout=%d" % TIMEOUT, "-rss_limit_mb=%d" % RSS_MB,
           "-artifact_prefix=%s/" % artifacts, "-print_final_stats=1"]
    if t in MAX_LEN:
        cmd.append("-max_len=%d" % MAX_LEN[t])
    if smoke:
        cmd += ["-runs=%d" % RUNS.get(t, DEFAULT_RUNS), "-max_total_time=%d" % SMOKE_CAP]
    else:
        cmd += ["-max_total_time=%d" % seconds]
    names = [t] + ([SHARES[t]] if t in SHARES else [])
    dirs = [scratch] + [os.path.join(d, n) for n in names for d in (SEEDS, REGRESSIONS, CORPUS)]
    return cmd + [d for d in dirs if os.path.isdir(d)]


def summary(log):
    """"N runs, cov C, corpus K" from libFuzzer's final lines."""
    runs = re.search(r"stat::number_of_executed_units: (\d+)", log)
    cov = re.findall(r"cov: (\d+) ft: \d+ corp: (\d+)", log)
    parts = []
    if runs:
        parts.append("%s runs" % runs.group(1))
    if cov:
        parts.append("cov %s, corpus %s" % cov[-1])
    return ", ".join(parts)


def finding(log):
    """The part of a log that says what went wrong: from the first report on."""
    starts = [m.start() for m in re.finditer(r"==\d+==ERROR|runtime error:|invariant failed|ERROR: libFuzzer|"
                                             r"==\d+== ERROR|deadly signal", log)]
    if not starts:
        return log[-3000:]
    line = log.rfind("\n", 0, min(starts)) + 1
    return log[line:line + 3000]


def run_all(names, smoke, seconds=0, report=None):
    """Run the targets PARALLEL at a time; report(ok, name, detail, secs) for each, in order.
    Returns the number that failed."""
    work = os.path.join(BUILD, "smoke" if smoke else "runs")
    os.makedirs(work, exist_ok=True)
    pending = list(names)
    running = {}
    done = {}
    while pending or running:
        while pending and len(running) < PARALLEL:
            t = pending.pop(0)
            scratch = os.path.join(work, t, "new") if smoke else os.path.join(GROWN, t)
            artifacts = os.path.join(work, t) if smoke else os.path.join(BUILD, "crashes", t)
            if smoke:
                shutil.rmtree(os.path.join(work, t), ignore_errors=True)
            os.makedirs(scratch, exist_ok=True)
            os.makedirs(artifacts, exist_ok=True)
            before = set(os.listdir(artifacts))
            log = open(os.path.join(work, t + ".log"), "w+")
            cmd = command(t, smoke, seconds, scratch, artifacts)
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env(), cwd=ROOT)
            running[t] = (p, log, time.monotonic(), artifacts, before)
        time.sleep(0.05)
        for t in list(running):
            p, log, t0, artifacts, before = running[t]
            # libFuzzer's own cap ends the run; this one only guards against a wedged process
            limit = (SMOKE_CAP if smoke else seconds) + 120
            if p.poll() is None and time.monotonic() - t0 < limit:
                continue
            if p.poll() is None:
                p.kill()
            p.wait()
            log.seek(0)
            text = log.read()
            log.close()
            crashes = [f for f in os.listdir(artifacts)
                       if f not in before and re.match(r"(crash|leak|timeout|oom|slow-unit)-", f)]
            ok = p.returncode == 0 and not crashes
            detail = summary(text)
            if not ok:
                detail = "exit %s; %s\n%s\ninputs kept: %s" % (p.returncode, detail, finding(text),
                                                                ", ".join(os.path.join(artifacts, c) for c in crashes))
            done[t] = (ok, detail, time.monotonic() - t0)
            del running[t]
    failed = 0
    for t in names:
        ok, detail, secs = done[t]
        failed += not ok
        if report:
            report(ok, "fuzz/" + t, detail, secs)
    return failed


def smoke(report):
    """The stage tests/run.py runs: the corpus, then every target."""
    t0 = time.monotonic()
    problem = make_corpus()
    report(problem is None, "fuzz/corpus", problem or "", time.monotonic() - t0)
    names = targets()
    if not names:
        report(False, "fuzz/targets", "no fuzz targets in %s: run make fuzz-bins" % BUILD, 0.0)
        return
    run_all(names, True, report=report)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    results = []

    def report(ok, name, detail, secs):
        results.append(ok)
        print("%s %-60s %6.2fs%s" % ("PASS" if ok else "FAIL", name, secs,
                                      ("  " + detail) if ok and detail else ""), flush=True)
        if not ok:
            print("     " + detail.replace("\n", "\n     "), flush=True)

    if a.smoke:
        smoke(report)
    else:
        problem = make_corpus()
        if problem:
            print("fuzz: no build-time corpus, running from the seeds only: " + problem, file=sys.stderr)
        names = a.targets or targets()
        run_all(names, False, a.seconds, report)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
