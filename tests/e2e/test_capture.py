"""chang attach / chang core on real hung programs: threads, names, functions, lines,
inline frames, demangling, separate debug info, both unwinders, and the target left as
it was."""
import json
import os
import re
import shutil
import signal
import subprocess

from harness import (Program, TestFailure, build, chang_json, check, functions, run_chang,
                     thread_by_name, OUT)


def abba_checks(rep, source):
    check(rep["source"] == source, "source %r" % rep["source"])
    check(rep["thread_count"] == 3, "want 3 threads, got %d" % rep["thread_count"])
    ab = thread_by_name(rep, "worker-ab")
    ba = thread_by_name(rep, "worker-ba")
    if source == "attach":
        check(len(ab) == 1 and len(ba) == 1, "thread names: %r" % [t["name"] for t in rep["threads"]])
    else:
        # cores carry no per-thread names; find the workers by their frames
        ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
        ba = [t for t in rep["threads"] if "transfer_ba" in functions(t)]
        check(len(ab) == 1 and len(ba) == 1, "worker threads not found by frames")
    for t, outer in ((ab[0], "transfer_ab"), (ba[0], "transfer_ba")):
        fn = functions(t)
        check("take_second" in fn and outer in fn, "frames of %d: %r" % (t["tid"], fn))
        i = fn.index("take_second")
        check(fn.index(outer) == i + 1, "%s must call take_second: %r" % (outer, fn))
        fr = t["frames"][i]
        check(fr["file"] and fr["file"].endswith("abba.c") and fr["line"] == 14,
              "take_second at %s:%s" % (fr["file"], fr["line"]))
        check(any(f and "pthread_mutex_lock" in f for f in fn), "no pthread_mutex_lock frame: %r" % fn)
    main = [t for t in rep["threads"] if t["tid"] == rep["pid"]]
    check(main and "main" in functions(main[0]), "main thread frames")
    # groups: identical stacks only, largest first, covering every thread
    check(sum(g["count"] for g in rep["groups"]) == 3, "groups must cover all threads")
    counts = [g["count"] for g in rep["groups"]]
    check(counts == sorted(counts, reverse=True), "groups sorted by count: %r" % counts)


def start_abba(**kw):
    p = Program(build("abba"), threads=3, **kw)
    return p.wait_ready()


def test_abba_attach():
    with start_abba() as p:
        rep = chang_json(["attach", "--pid", str(p.pid)])
        abba_checks(rep, "attach")
        check(rep["pause_ms"] is not None and rep["pause_ms"] > 0, "pause %r" % rep["pause_ms"])
        p.untouched()
        # the target keeps working after chang: attach again gives the same answer
        rep2 = chang_json(["attach", "--pid", str(p.pid)])
        abba_checks(rep2, "attach")
        p.untouched()


def test_abba_gcore():
    with start_abba() as p:
        core = p.gcore()
        p.untouched()
        rep = chang_json(["core", build("abba"), core])
        abba_checks(rep, "core")
        check(rep["pid"] == p.pid, "pid from core %r" % rep["pid"])
        # without the executable argument chang finds it from the core
        rep = chang_json(["core", core])
        abba_checks(rep, "core")


def test_abba_kernel_core():
    with start_abba(core_limit=True) as p:
        core = p.kernel_core(signal.SIGABRT)
        if core is None:
            return "skip: the kernel wrote no core here (core_pattern %s)" % open("/proc/sys/kernel/core_pattern").read().strip()
        rep = chang_json(["core", build("abba"), core])
        check(rep["source"] == "core" and rep["thread_count"] == 3, "threads in kernel core")
        ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
        check(len(ab) == 1, "worker found in kernel core")


def test_threads_format_and_text():
    with start_abba() as p:
        txt = run_chang(["attach", "--pid", str(p.pid), "--format=threads"]).stdout
        check('"worker-ab" [' in txt and "take_second(...)" in txt and "abba.c:14" in txt, txt[:2000])
        txt = run_chang(["attach", "--pid", str(p.pid)]).stdout
        check("process %d" % p.pid in txt and "paused" in txt, "text header: " + txt[:300])
        check("\ttake_second+0x" in txt, "group frame lines: " + txt[:2000])
        p.untouched()


def test_condvar_pool_grouped():
    with Program(build("condvar_many"), args=["50"], threads=51) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        check(rep["thread_count"] == 51, "threads %d" % rep["thread_count"])
        g = rep["groups"][0]
        check(g["count"] == 50, "largest group %d, want 50" % g["count"])
        fn = [f["function"] for f in g["frames"]]
        check("queue_pop" in fn and "worker" in fn, "pool frames %r" % fn)
        check(all(t["name"] == "pool-worker" for t in rep["threads"] if t["tid"] in g["tids"]), "names")
        p.untouched()


def test_inline_cpp():
    exe = build("inline_cpp", cxx=True, opt="-O2")
    with Program(exe, threads=4) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        workers = [t for t in rep["threads"] if any(f["function"] and "reserve" in f["function"] for f in t["frames"])]
        check(len(workers) == 3, "3 customers, got %d" % len(workers))
        fr = workers[0]["frames"]
        names = [f["function"] for f in fr]
        check("shop::Inventory::reserve(int)" in names, "demangled method: %r" % names)
        inl = [f for f in fr if f["inlined"] and (f["function"] or "").startswith("shop::Inventory::wait_for_stock")]
        check(inl, "inlined wait_for_stock frame missing: %r" % [(f["function"], f["inlined"]) for f in fr])
        check(inl[0]["file"].endswith("inline_cpp.cpp"), "inline frame file %r" % inl[0]["file"])
        phys = [f for f in fr if f["function"] == "shop::Inventory::reserve(int)"][0]
        check(not phys["inlined"] and phys.get("mangled", "").startswith("_ZN4shop"), "mangled name kept")
        check(any("condition_variable" in (f["function"] or "") for f in fr), "std::condition_variable::wait")
        p.untouched()


def same_stacks(a, b):
    ka = {t["tid"]: [f["pc"] for f in t["frames"]] for t in a["threads"]}
    kb = {t["tid"]: [f["pc"] for f in t["frames"]] for t in b["threads"]}
    return ka == kb, (ka, kb)


def test_unwinders_agree():
    cases = [(build("abba"), [], 3), (build("inline_cpp", cxx=True), [], 4), (build("condvar_many"), ["5"], 6)]
    for exe, args, n in cases:
        with Program(exe, args=args, threads=n) as p:
            p.wait_ready()
            core = p.gcore()
            for src in (["attach", "--pid", str(p.pid)], ["core", exe, core]):
                a = chang_json(src + ["--unwinder=libunwind"])
                b = chang_json(src + ["--unwinder=libdw"])
                ok, detail = same_stacks(a, b)
                check(ok, "%s: unwinders disagree on %s:\n%r" % (os.path.basename(exe), src[0], detail))
                check(all(len(t["frames"]) >= 3 for t in a["threads"]), "shallow stacks")


def build_id(path):
    out = subprocess.run(["eu-readelf", "-n", path], capture_output=True, text=True).stdout
    return [l.split()[-1] for l in out.splitlines() if "Build ID:" in l][0]


def stripped_copy(exe, d):
    """A copy of exe without symbols or DWARF in a fresh directory d; returns it and the
    build-id by which chang must find its debug file."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    stripped = os.path.join(d, os.path.basename(exe) + "-stripped")
    subprocess.run(["objcopy", "--strip-all", exe, stripped], check=True)
    os.chmod(stripped, 0o755)
    return stripped, build_id(exe)


def debug_by_build_id(exe, root, bid, compress):
    """exe's DWARF as a separate debug file where elfutils looks: root/.build-id/ab/cdef.debug."""
    bdir = os.path.join(root, ".build-id", bid[:2])
    os.makedirs(bdir)
    dbg = os.path.join(bdir, bid[2:] + ".debug")
    subprocess.run(["objcopy", "--only-keep-debug", "--compress-debug-sections=" + compress, exe, dbg], check=True)
    return dbg


def test_stripped_separate_debuginfo():
    exe = build("abba")
    d = os.path.join(OUT, "stripped")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "debug"))
    stripped = os.path.join(d, "abba-stripped")
    dbg = os.path.join(d, "debug", "abba-stripped.debug")
    subprocess.run(["objcopy", "--only-keep-debug", exe, dbg], check=True)
    subprocess.run(["objcopy", "--strip-all", "--add-gnu-debuglink=" + dbg, exe, stripped], check=True)
    # a second copy of the debug file where elfutils looks for build-ids
    bid = build_id(exe)
    bdir = os.path.join(d, "byid", ".build-id", bid[:2])
    os.makedirs(bdir)
    shutil.copy(dbg, os.path.join(bdir, bid[2:] + ".debug"))
    os.chmod(stripped, 0o755)
    with Program(stripped, threads=3) as p:
        p.wait_ready()
        # without debug info: only the dynamic symbols; the static helpers are unknown
        rep = chang_json(["attach", "--pid", str(p.pid)])
        fn = [f for t in rep["threads"] for f in functions(t)]
        check("take_second" not in fn, "a stripped binary cannot name static functions")
        for path in (os.path.join(d, "debug"), os.path.join(d, "byid")):
            rep = chang_json(["attach", "--pid", str(p.pid), "--debuginfo-path=" + path])
            ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
            check(len(ab) == 1, "debug info from %s not used: %r" % (path, [functions(t) for t in rep["threads"]]))
            fr = ab[0]["frames"][functions(ab[0]).index("take_second")]
            check(fr["line"] == 14 and fr["file"].endswith("abba.c"), "line info via %s" % path)
        p.untouched()


def frames_of(rep, fn):
    """(function, file, line, inlined) of every frame of the threads that call fn."""
    return sorted([(f["function"], f["file"], f["line"], f["inlined"]) for f in t["frames"]]
                  for t in rep["threads"] if fn in functions(t))


def test_compressed_debuginfo():
    """Separate debug files with zlib- and zstd-compressed DWARF (what -dbg packages ship)
    give the same frames, inline ones included, as an uncompressed one, live and from a
    core; a corrupt one costs its DWARF, not the run."""
    exe = build("inline_cpp", cxx=True, opt="-O2")
    d = os.path.join(OUT, "zdebug")
    stripped, bid = stripped_copy(exe, d)
    dirs, files = {}, {}
    for kind in ("none", "zlib", "zstd", "corrupt"):
        dirs[kind] = os.path.join(d, kind)
        files[kind] = debug_by_build_id(exe, dirs[kind], bid, "zlib" if kind == "corrupt" else kind)
    # corrupt: the middle of the compressed .debug_info overwritten
    out = subprocess.run(["readelf", "-SW", files["corrupt"]], capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if ".debug_info" in l][0].split("]")[1].split()
    off, size = int(line[3], 16), int(line[4], 16)
    with open(files["corrupt"], "r+b") as f:
        f.seek(off + size // 2)
        f.write(b"\xff" * min(64, size // 4))
    with Program(stripped, threads=4) as p:
        p.wait_ready()
        reps = {k: chang_json(["attach", "--pid", str(p.pid), "--debuginfo-path=" + v]) for k, v in dirs.items()}
        core = os.path.join(d, "core")
        subprocess.run(["gcore", "-o", core, str(p.pid)], capture_output=True, check=True)
        core += ".%d" % p.pid
        p.untouched()
    want = frames_of(reps["none"], "shop::Inventory::reserve(int)")
    check(len(want) == 3 and any(f[3] and f[0].startswith("shop::Inventory::wait_for_stock") for f in want[0]),
          "uncompressed debug file: 3 customers with inline frames: %r" % want)
    for kind in ("zlib", "zstd"):
        got = frames_of(reps[kind], "shop::Inventory::reserve(int)")
        check(got == want, "%s-compressed debug file gives other frames: %r vs %r" % (kind, got, want))
        rep = chang_json(["core", "--debuginfo-path=" + dirs[kind], stripped, core])
        got = frames_of(rep, "shop::Inventory::reserve(int)")
        check(got == want, "%s, from a core: %r vs %r" % (kind, got, want))
    # the corrupt file: no crash, every thread still there
    check(len(reps["corrupt"]["threads"]) == len(reps["none"]["threads"]), "corrupt debug file lost threads")


def test_debuginfo_cache():
    """Inflated debug files are kept on disk: the second run reads them back, a damaged
    entry is made again, old entries go past the size limit, and CHANG_CACHE_DIR=off
    writes nothing; the frames are the same every time."""
    exe = build("inline_cpp", cxx=True, opt="-O2")
    d = os.path.join(OUT, "zcache")
    stripped, bid = stripped_copy(exe, d)
    debug_by_build_id(exe, os.path.join(d, "debug"), bid, "zlib")
    cache = os.path.join(d, "cache")

    def run(env_extra):
        env = dict(os.environ, CHANG_CACHE_DIR=cache)
        env.update(env_extra)
        r = run_chang(["attach", "--pid", str(p.pid), "--debuginfo-path=" + os.path.join(d, "debug"),
                       "--format=json", "--stats"], env=env)
        m = re.search(r"debug files (\d+) inflated and (\d+) cached", r.stderr)
        check(m, "--stats does not count debug files: %r" % r.stderr)
        return json.loads(r.stdout), int(m.group(1)), int(m.group(2))

    def mine():
        return [f for f in os.listdir(cache) if f.startswith(bid)] if os.path.isdir(cache) else []

    with Program(stripped, threads=4) as p:
        p.wait_ready()
        rep, inflated, cached = run({})
        want = frames_of(rep, "shop::Inventory::reserve(int)")
        check(len(want) == 3 and any(f[3] for f in want[0]), "frames with inline ones: %r" % want)
        check(inflated >= 1 and len(mine()) == 1, "first run: %d inflated, cache %r" % (inflated, mine()))
        rep, inflated, cached = run({})
        check(inflated == 0 and cached >= 1, "second run: %d inflated, %d cached" % (inflated, cached))
        check(frames_of(rep, "shop::Inventory::reserve(int)") == want, "frames from the cache differ")
        # a damaged entry (cut short) is dropped and made again
        entry = os.path.join(cache, mine()[0])
        with open(entry, "r+b") as f:
            f.truncate(100)
        rep, inflated, cached = run({})
        check(inflated >= 1 and frames_of(rep, "shop::Inventory::reserve(int)") == want,
              "damaged entry: %d inflated" % inflated)
        check(os.path.getsize(os.path.join(cache, mine()[0])) > 100, "damaged entry not replaced")
        # over the size limit, the least recently used go first
        real = sum(os.stat(os.path.join(cache, f)).st_blocks * 512 for f in os.listdir(cache))
        old = [os.path.join(cache, "%s-%d-1000.000000000.debug" % ("ab%d" % i * 10, 1 << 20)) for i in range(3)]
        foreign = os.path.join(cache, "libfoo.so.debug")   # not chang's: never removed
        for i, o in enumerate(old + [foreign]):
            with open(o, "wb") as f:
                f.write(b"\1" * (1 << 20))
            os.utime(o, (900 + i, 900 + i) if o == foreign else (1000 + i, 1000 + i))
        os.unlink(os.path.join(cache, mine()[0]))   # a new entry is written, and the cache trimmed
        run({"CHANG_CACHE_MAX_MB": str((real >> 20) + 2)})
        check(not os.path.exists(old[0]) and not os.path.exists(old[1]) and os.path.exists(old[2])
              and len(mine()) == 1 and os.path.exists(foreign),
              "trimmed to %d MiB: %r" % ((real >> 20) + 2, os.listdir(cache)))
        # turned off: nothing written
        shutil.rmtree(cache)
        rep, inflated, cached = run({"CHANG_CACHE_DIR": "off"})
        check(not os.path.exists(cache) and cached == 0 and inflated >= 1, "CHANG_CACHE_DIR=off wrote %r" % cache)
        check(frames_of(rep, "shop::Inventory::reserve(int)") == want, "frames without the cache differ")
        p.untouched()


def test_job_control_stop_kept():
    with start_abba() as p:
        os.kill(p.pid, signal.SIGSTOP)
        # wait until the stop took effect on every thread
        from harness import task_states
        import time
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(s != "T" for s in task_states(p.pid).values()):
            time.sleep(0.005)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        check(rep["job_stopped"] is True, "job stop not reported")
        check(rep["thread_count"] == 3, "threads of a stopped process")
        p.untouched(expect_state="T")
        os.kill(p.pid, signal.SIGCONT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(s == "T" for s in task_states(p.pid).values()):
            time.sleep(0.005)
        p.untouched()


def test_bad_input():
    cases = []
    r = run_chang(["attach", "--pid", "999999999"], check_rc=False)
    cases.append(("no such process", r))
    r = run_chang(["attach", "--pid", "abc"], check_rc=False)
    cases.append(("not a process id", r))
    d = os.path.join(OUT, "badcores")
    os.makedirs(d, exist_ok=True)
    empty = os.path.join(d, "empty")
    open(empty, "w").close()
    r = run_chang(["core", build("abba"), empty], check_rc=False)
    cases.append(("empty", r))
    text = os.path.join(d, "text")
    with open(text, "w") as f:
        f.write("hello, this is not an ELF file\n" * 10)
    r = run_chang(["core", build("abba"), text], check_rc=False)
    cases.append(("not an ELF", r))
    r = run_chang(["core", build("abba"), build("abba")], check_rc=False)
    cases.append(("not a core", r))
    r = run_chang(["nosuchcommand"], check_rc=False)
    cases.append(("not a command", r))
    for want, r in cases:
        check(r.returncode not in (0, -11, -6) and r.returncode > 0, "%s: exit %d" % (want, r.returncode))
        err = r.stderr.strip().splitlines()
        check(len(err) == 1 and err[0].startswith("chang: "), "%s: want one error line, got %r" % (want, r.stderr))
        check(want in err[0], "%s: message %r" % (want, err[0]))


def test_truncated_core_and_wrong_exe():
    with start_abba() as p:
        core = p.gcore()
        cut = core + ".cut"
        size = os.path.getsize(core)
        with open(core, "rb") as f, open(cut, "wb") as g:
            g.write(f.read(size // 2))
        r = run_chang(["core", build("abba"), cut, "--format=json"], check_rc=False)
        check(r.returncode == 0 or r.stderr.startswith("chang: "), "truncated core: exit %d %s" % (r.returncode, r.stderr))
        check("truncat" in r.stderr.lower() or "truncat" in r.stdout.lower(), "truncation not reported: %r" % r.stderr)
        other = build("condvar_many")
        r = run_chang(["core", other, core], check_rc=False)
        check(r.returncode != 0 and "does not match" in r.stderr, "wrong exe accepted: %d %r" % (r.returncode, r.stderr))


def test_help_and_version():
    r = run_chang(["--version"])
    check(r.stdout.startswith("chang "), r.stdout)
    r = run_chang(["help", "attach"])
    check("--pid" in r.stdout and "--format" in r.stdout, r.stdout)
    r = run_chang(["--help"])
    check("attach" in r.stdout and "core" in r.stdout, r.stdout)


def test_deleted_executable_via_map_files():
    # the binary is replaced or deleted after start (a deploy): symbols still come from
    # the mapped file itself through /proc/PID/map_files
    d = os.path.join(OUT, "deleted")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    exe = os.path.join(d, "abba-tmp")
    shutil.copy(build("abba"), exe)
    with Program(exe, threads=3) as p:
        p.wait_ready()
        os.unlink(exe)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
        check(len(ab) == 1, "frames of a deleted executable: %r" % [functions(t) for t in rep["threads"]])
        mod = [m for m in rep["modules"] if m["name"] == exe]
        check(mod and mod[0]["file"] and "map_files" in mod[0]["file"], "opened through map_files: %r" % mod)
        p.untouched()
