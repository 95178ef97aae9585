#!/usr/bin/env python3
"""chang's test runner: unit test binaries, the fuzz targets' smoke runs, then end-to-end
tests (release and ASan builds).
Ends with the line "N passed, N failed"."""
import argparse
import glob
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402

passed = failed = skipped = 0
# The extended suite (--extended): the slow tests marked fn.extended = True, which make check
# counts as skips and make check-extended runs (its own bounded step of .ci/run).
EXTENDED = False


def report(ok, name, detail="", secs=0.0):
    global passed, failed
    if ok:
        passed += 1
        print("PASS %-60s %6.2fs" % (name, secs), flush=True)
    else:
        failed += 1
        print("FAIL %-60s %6.2fs\n     %s" % (name, secs, detail.replace("\n", "\n     ")), flush=True)


def run_units(build):
    global skipped
    for b in sorted(glob.glob(os.path.join(ROOT, "build", build, "tests", "test_*"))):
        if b.endswith(".d") or not os.access(b, os.X_OK):
            continue
        t0 = time.monotonic()
        try:
            r = subprocess.run([b], capture_output=True, text=True, timeout=300, cwd=ROOT)
            ok = r.returncode == 0
            detail = (r.stdout + r.stderr)[-3000:]
        except subprocess.TimeoutExpired:
            ok, detail = False, "timed out"
        report(ok, "unit/%s/%s" % (build, os.path.basename(b)), detail, time.monotonic() - t0)
        # parts of a unit test that could not run here count as skips, with their reasons
        m = re.search(r", (\d+) skipped$", r.stdout.strip()) if ok else None
        if m:
            skipped += int(m.group(1))
            for line in r.stderr.splitlines():
                if line.startswith("skipped: "):
                    print("SKIP %-60s %s" % ("unit/%s/%s" % (build, os.path.basename(b)), line[9:]), flush=True)


def run_fuzz():
    """Each libFuzzer target (make fuzz-bins) a fixed number of runs from its seeds and
    regression inputs: tests/fuzz/fuzz.py."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "fuzz"))
    import fuzz
    fuzz.smoke(report)


def machine_damage():
    """What a test left broken on the machine: chang once replaced /dev/null and /dev/stdout
    with regular files (-o onto them). Checked after every end-to-end test, repaired when
    possible, and reported as that test's failure."""
    import stat
    bad = []
    try:
        st = os.lstat("/dev/null")
        if not stat.S_ISCHR(st.st_mode):
            bad.append("/dev/null is no longer a device")
            if os.geteuid() == 0:
                os.unlink("/dev/null")
                os.mknod("/dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
                os.chmod("/dev/null", 0o666)
    except OSError as e:
        bad.append("/dev/null: %s" % e)
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        path = "/dev/" + name
        try:
            if not os.path.islink(path):
                bad.append("%s is no longer a link" % path)
                if os.geteuid() == 0:
                    os.unlink(path)
                    os.symlink("/proc/self/fd/%d" % fd, path)
        except OSError as e:
            bad.append("%s: %s" % (path, e))
    return bad


class Timeout(Exception):
    pass


def on_alarm(sig, frm):
    raise Timeout()


def run_e2e(label, chang, pattern):
    global skipped
    os.environ["CHANG_BIN"] = chang
    signal.signal(signal.SIGALRM, on_alarm)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "e2e", "test_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        asan_ok = getattr(mod, "RUN_UNDER_ASAN", True)
        if label == "asan" and not asan_ok:
            continue
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = "%s/%s/%s" % (label, mod.__name__, name)
            if pattern and pattern not in full:
                continue
            fn = getattr(mod, name)
            if getattr(fn, "extended", False) != EXTENDED:
                if not EXTENDED:
                    skipped += 1
                    print("SKIP %-60s %s" % (full, "skip: in the extended suite (make check-extended)"), flush=True)
                continue
            limit = getattr(fn, "timeout", 120)
            t0 = time.monotonic()
            signal.alarm(limit)
            try:
                res = fn()
                signal.alarm(0)
                if isinstance(res, str) and res.startswith("skip"):
                    skipped += 1
                    print("SKIP %-60s %s" % (full, res), flush=True)
                    continue
                report(True, full, secs=time.monotonic() - t0)
            except Timeout:
                report(False, full, "timed out after %ds" % limit, time.monotonic() - t0)
            except harness.TestFailure as e:
                signal.alarm(0)
                report(False, full, str(e), time.monotonic() - t0)
            except Exception:
                signal.alarm(0)
                report(False, full, traceback.format_exc()[-3000:], time.monotonic() - t0)
            damage = machine_damage()
            if damage:
                report(False, full + " (machine left damaged)", "; ".join(damage) + " (repaired)", 0.0)


def main():
    import faulthandler
    if os.environ.get("CHANG_TEST_DUMP"):
        faulthandler.dump_traceback_later(int(os.environ["CHANG_TEST_DUMP"]), exit=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["unit", "fuzz", "e2e"])
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("--no-asan", action="store_true")
    ap.add_argument("--extended", action="store_true", help="run only the extended suite's tests")
    a = ap.parse_args()
    global EXTENDED
    EXTENDED = a.extended
    if a.extended:
        a.only = "e2e"
    os.makedirs(harness.OUT, exist_ok=True)
    # chang's cache of inflated debug files: a fresh one per run, out of the user's home, so
    # that the first tests fill it and the later ones read it
    cache = os.path.join(harness.OUT, "debuginfo-cache")
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["CHANG_CACHE_DIR"] = cache
    if a.only in (None, "unit"):
        run_units("release")
        if not a.no_asan:
            run_units("asan")
    if a.only in (None, "fuzz") and (not a.pattern or "fuzz" in a.pattern):
        run_fuzz()
    if a.only in (None, "e2e"):
        run_e2e("release", os.path.join(ROOT, "chang"), a.pattern)
        asan = os.path.join(ROOT, "build", "asan", "chang")
        if not a.no_asan and os.path.exists(asan):
            os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
            os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=99"
            run_e2e("asan", asan, a.pattern)
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
