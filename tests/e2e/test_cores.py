"""Cores as people have them: kernel and gcore cores compressed with gzip, zstd, xz and lz4
(found by magic, decoded into a sparse temporary file that never outlives chang), cut short,
on a full disk, with a library missing or rebuilt; and cores chang writes itself from an
attach's freeze (--save-core), which gdb and chang core must both read back."""
import glob
import json
import os
import shutil
import signal
import subprocess
import time

from harness import (OUT, Program, build, chang_bin, chang_json, check, functions,
                     have_tool, run_chang)

COMPRESSORS = {
    ".gz": ["gzip", "-1", "-c"],
    ".zst": ["zstd", "-q", "-1", "-c"],
    ".xz": ["xz", "-0", "-T1", "-c"],
    ".lz4": ["lz4", "-q", "-1", "-c"],
}


def compress(path, ext):
    out = path + ext
    with open(out, "wb") as f:
        subprocess.run(COMPRESSORS[ext] + [path], stdout=f, check=True)
    return out


def summary(rep):
    """What must not change with the container of a core: findings and every stack."""
    finds = sorted((f["kind"], tuple(sorted(f["tids"]))) for f in rep["findings"])
    stacks = {t["tid"]: [f["pc"] for f in t["frames"]] for t in rep["threads"]}
    return finds, stacks


def scratch(name):
    d = os.path.join(OUT, "cores", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def start_abba(**kw):
    return Program(build("abba"), threads=3, **kw).wait_ready()


def check_compressed(core, exe, tmp):
    env = dict(os.environ, TMPDIR=tmp)
    base = chang_json(["core", exe, core])
    check(any(f["kind"] == "deadlock" for f in base["findings"]), "no deadlock in %s" % core)
    want = summary(base)
    made = []
    try:
        for ext in COMPRESSORS:
            if not have_tool(COMPRESSORS[ext][0]):
                continue
            c = compress(core, ext)
            made.append(c)
            for args in (["core", exe, c], ["core", c]):
                rep = json.loads(run_chang(args + ["--format=json"], env=env).stdout)
                got = summary(rep)
                check(got == want, "%s differs from the plain core:\n%r\n%r" % (" ".join(args), got, want))
                check(rep["warnings"] == base["warnings"], "%s warnings %r" % (ext, rep["warnings"]))
            check(os.listdir(tmp) == [], "left in TMPDIR: %r" % os.listdir(tmp))
        return made
    except BaseException:
        for c in made:
            os.unlink(c)
        raise


def test_compressed_kernel_and_gcore_cores():
    exe = build("abba")
    tmp = scratch("tmp")
    with start_abba(core_limit=True) as p:
        gc = p.gcore()
        for c in check_compressed(gc, exe, tmp):
            os.unlink(c)
        os.unlink(gc)
        kc = p.kernel_core(signal.SIGABRT)
        if kc is None:
            return "skip: the kernel wrote no core (core_pattern %s)" % open("/proc/sys/kernel/core_pattern").read().strip()
        made = check_compressed(kc, exe, tmp)
        try:
            # a .gz cut short: the kernel writes its notes first, so the threads survive and
            # the report says the stream was truncated
            gz = [c for c in made if c.endswith(".gz")][0]
            cut = gz + ".cut.gz"
            data = open(gz, "rb").read()
            open(cut, "wb").write(data[: len(data) * 2 // 3])
            rep = chang_json(["core", exe, cut])
            w = " ".join(rep["warnings"])
            check("gzip stream is truncated" in w, "truncation not reported: %r" % rep["warnings"])
            check(rep["thread_count"] == 3, "threads from a cut core: %d" % rep["thread_count"])
            # cut before the notes end: an error that still says why
            open(cut, "wb").write(data[:200])
            r = run_chang(["core", exe, cut], check_rc=False)
            check(r.returncode == 1 and "truncated" in r.stderr and r.stderr.count("\n") == 1,
                  "tiny cut core: %d %r" % (r.returncode, r.stderr))
            os.unlink(cut)
        finally:
            for c in made:
                os.unlink(c)
            os.unlink(kc)


test_compressed_kernel_and_gcore_cores.timeout = 180


def test_decompression_temp_file_and_disk_full():
    d = scratch("bomb")
    tmp = os.path.join(d, "tmp")
    os.makedirs(tmp)
    # 16 GiB of zeros in 256 zstd frames: sparse, so it costs no disk, but takes seconds to
    # decode, long enough to look at chang while it does and to interrupt it
    frame = subprocess.run(["zstd", "-q", "-c"], input=b"\0" * (64 << 20), capture_output=True, check=True).stdout
    bomb = os.path.join(d, "core.zst")
    with open(bomb, "wb") as f:
        for _ in range(256):
            f.write(frame)
    for sig in (signal.SIGTERM, signal.SIGINT):
        # default dispositions: a test run started in the background inherits SIGINT ignored
        proc = subprocess.Popen([chang_bin(), "core", bomb], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(os.environ, TMPDIR=tmp),
                                preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM)])
        held = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and held is None and proc.poll() is None:
            for fd in os.listdir("/proc/%d/fd" % proc.pid):
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (proc.pid, fd))
                except OSError:
                    continue
                if t.startswith(tmp + "/"):
                    held = t
            time.sleep(0.01)
        check(held is not None, "chang did not decode into TMPDIR")
        check(os.listdir(tmp) == [], "the temporary file has a name: %r" % os.listdir(tmp))
        proc.send_signal(sig)
        proc.wait(timeout=10)
        check(proc.returncode == -sig, "chang ended with %d after signal %d" % (proc.returncode, sig))
        check(os.listdir(tmp) == [], "left in TMPDIR after signal %d: %r" % (sig, os.listdir(tmp)))
    os.unlink(bomb)

    # a disk with no room: one line naming the file, the size needed and the directory
    if not have_tool("unshare"):
        return "skip: no unshare for a private tmpfs"
    with start_abba() as p:
        gc = p.gcore()
        zst = compress(gc, ".zst")
        os.unlink(gc)
        mnt = os.path.join(d, "small")
        os.makedirs(mnt)
        script = "mount -t tmpfs -o size=64k tmpfs %s && TMPDIR=%s exec %s core %s" % (mnt, mnt, chang_bin(), zst)
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
        os.unlink(zst)
        if "mount" in r.stderr and "chang:" not in r.stderr:
            return "skip: cannot mount a tmpfs here: %s" % r.stderr.strip()
        err = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(err) == 1, "disk full: %d %r" % (r.returncode, r.stderr))
        check(err[0].startswith("chang: decompressing %s needs " % zst) and
              err[0].endswith("MiB in %s: no space left" % mnt), "disk full message: %r" % err[0])
    shutil.rmtree(d, ignore_errors=True)


test_decompression_temp_file_and_disk_full.timeout = 120


def gdb_backtraces(exe, core):
    r = subprocess.run(["gdb", "-nx", "-batch", "-ex", "thread apply all bt", exe, core],
                       capture_output=True, text=True, timeout=120)
    blocks = ["Thread " + b for b in ("\n" + r.stdout).split("\nThread ")[1:]]
    return blocks, r.stdout + r.stderr


def deadlock_of(rep):
    f = [f for f in rep["findings"] if f["kind"] == "deadlock"]
    check(len(f) == 1, "want one deadlock, got %r" % [x["kind"] for x in rep["findings"]])
    return sorted(f[0]["tids"]), sorted(l["symbol"] for l in f[0]["locks"])


def test_save_core_mini_and_full():
    exe = build("abba")
    d = scratch("saved")
    with start_abba() as p:
        for size in ("mini", "full"):
            for ext in ("", ".zst"):
                path = os.path.join(d, "abba-%s.core%s" % (size, ext))
                args = ["attach", "--pid", str(p.pid), "--save-core", path]
                if size == "full" or ext:
                    args.append("--core-size=" + size)
                live = chang_json(args)
                p.untouched()
                sc = live["saved_core"]
                check(sc["path"] == path and sc["core_size"] == size and sc["error"] is None, "saved_core %r" % sc)
                check(os.path.getsize(path) == sc["size"], "size %d vs %r" % (os.path.getsize(path), sc["size"]))
                check(0 <= sc["pause_ms"] <= live["pause_ms"], "core pause %r of %r" % (sc["pause_ms"], live["pause_ms"]))
                check(not glob.glob(path + ".tmp.*"), "temporary file left")
                want = deadlock_of(live)
                for cargs in (["core", path], ["core", exe, path]):
                    rep = chang_json(cargs)
                    check(deadlock_of(rep) == want, "%s: %r, live %r" % (" ".join(cargs), deadlock_of(rep), want))
                    check(rep["thread_count"] == 3 and rep["pid"] == p.pid, "threads/pid from %s" % path)
                    ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
                    check(len(ab) == 1 and "take_second" in functions(ab[0]), "stacks from %s" % path)
                    # the thread names travel in chang's own note
                    names = {t["tid"]: t["name"] for t in rep["threads"]}
                    check(names == {t["tid"]: t["name"] for t in live["threads"]} and "worker-ab" in names.values(),
                          "thread names from %s: %r" % (path, names))
                plain = path
                if ext:
                    plain = path[: -len(ext)] + ".plain"
                    subprocess.run(["zstd", "-q", "-d", "-f", "-o", plain, path], check=True)
                    check(open(plain, "rb").read(4) == b"\x7fELF", "not an ELF core inside %s" % path)
                blocks, out = gdb_backtraces(exe, plain)
                check(len(blocks) == 3, "gdb on %s: %d threads\n%s" % (path, len(blocks), out[-3000:]))
                for b in blocks:
                    if "LWP %d" % p.pid in b.splitlines()[0]:
                        check(" main () at " in b, "gdb: main thread of %s:\n%s" % (path, b))
                    else:
                        check("take_second" in b and ("transfer_ab" in b or "transfer_ba" in b) and
                              "pthread_mutex_lock" in b, "gdb: worker of %s:\n%s" % (path, b))
                # gdb found the libraries through the link map, and libthread_db the threads
                check("Thread 0x" in out, "gdb listed no pthreads from %s:\n%s" % (path, out[-3000:]))
                if plain != path:
                    os.unlink(plain)
                os.unlink(path)
        # a text report says where the core went
        path = os.path.join(d, "text.core")
        txt = run_chang(["attach", "--pid", str(p.pid), "--save-core", path]).stdout
        check("saved core: %s (mini, " % path in txt and "added" in txt, "text header: %s" % txt[:400])
        os.unlink(path)
        # a core that cannot be written: the report still comes, then one error and exit 1
        r = run_chang(["attach", "--pid", str(p.pid), "--save-core", os.path.join(d, "no/such/dir/c")],
                      check_rc=False)
        check(r.returncode == 1 and "cannot create" in r.stderr and r.stdout == "", "unwritable: %r" % r.stderr)
        p.untouched()
        # no room for the core: the report still comes and says why, then one error, exit 1
        if have_tool("unshare"):
            mnt = os.path.join(d, "small")
            os.makedirs(mnt)
            script = "mount -t tmpfs -o size=64k tmpfs %s && exec %s attach --pid %d --save-core %s/c.core " \
                     "--format=json" % (mnt, chang_bin(), p.pid, mnt)
            r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
            if "chang:" in r.stderr or r.stdout:
                sc = json.loads(r.stdout)["saved_core"]
                check(sc["error"] and "no space left" in sc["error"] and sc["size"] is None, "saved_core %r" % sc)
                check(r.returncode == 1 and r.stderr.count("\n") == 1 and "no space left" in r.stderr,
                      "disk full: %d %r" % (r.returncode, r.stderr))
            os.rmdir(mnt)
            p.untouched()
        r = run_chang(["attach", "--pid", str(p.pid), "--core-size=full"], check_rc=False)
        check(r.returncode == 2 and "--save-core" in r.stderr, "core-size alone: %r" % r.stderr)
        r = run_chang(["attach", "--pid", str(p.pid), "--no-stop", "--save-core", path], check_rc=False)
        check(r.returncode == 2 and "--no-stop" in r.stderr, "no-stop: %r" % r.stderr)
    check(os.listdir(d) == [], "left behind: %r" % os.listdir(d))


test_save_core_mini_and_full.timeout = 180


def sysroot_of(core, d, skip=None, replace=None):
    """A tree with every file the core maps (symlinked), less one library or with one
    file replaced by another build."""
    rep = chang_json(["core", core])
    root = os.path.join(d, "root")
    shutil.rmtree(root, ignore_errors=True)
    for m in rep["modules"]:
        name = m["name"]
        if skip and os.path.basename(name).startswith(skip):
            continue
        dst = root + name
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = replace.get(name, name) if replace else name
        os.symlink(os.path.realpath(src), dst)
    return root


def test_missing_library_and_mismatched_build_id():
    exe = build("abba")
    other = build("abba", extra=["-Wl,--build-id=0x0123456789abcdef0123456789abcdef01234567"],
                  out_name="abba-other-build")
    d = scratch("sysroot")
    with start_abba() as p:
        core = os.path.join(d, "abba.core.zst")
        chang_json(["attach", "--pid", str(p.pid), "--save-core", core])
    try:
        # without libc, whose code every thread sleeps in, the stacks cannot be walked past
        # it; without the dynamic linker, which no thread is in, they are whole
        for lib, whole in (("libc.so", False), ("ld-linux", True)):
            root = sysroot_of(core, d, skip=lib)
            rep = chang_json(["core", core, "--sysroot=" + root])
            w = [x for x in rep["warnings"] if lib in x]
            check(len(w) == 1 and "cannot open the mapped file" in w[0], "missing %s: %r" % (lib, rep["warnings"]))
            check(rep["thread_count"] == 3, "report without %s" % lib)
            m = [m for m in rep["modules"] if lib in m["name"]]
            check(m and m[0]["missing"], "%s not marked missing: %r" % (lib, m))
            if whole:
                ab = [t for t in rep["threads"] if "transfer_ab" in functions(t)]
                check(len(ab) == 1, "frames without %s: %r" % (lib, [functions(t) for t in rep["threads"]]))
                check(deadlock_of(rep), "deadlock without %s" % lib)

        main = [m["name"] for m in chang_json(["core", core])["modules"] if m["name"].endswith("/abba")][0]
        root = sysroot_of(core, d, replace={main: other})
        rep = chang_json(["core", core, "--sysroot=" + root])
        w = [x for x in rep["warnings"] if "build-id" in x]
        check(len(w) == 1 and "0123456789abcdef" in w[0] and "differs" in w[0], "mismatch: %r" % rep["warnings"])
        check(rep["thread_count"] == 3 and any(m["mismatched"] for m in rep["modules"]), "report with a mismatch")
        check([f["kind"] for f in rep["findings"]].count("deadlock") == 1, "findings with a mismatch")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_coredump_without_coredumpctl():
    env = dict(os.environ, PATH="/nonexistent")
    r = run_chang(["core", "--coredump", "abba"], check_rc=False, env=env)
    err = r.stderr.strip().splitlines()
    check(r.returncode == 1 and len(err) == 1 and "coredumpctl is not installed" in err[0], "%r" % r.stderr)
    r = run_chang(["core", "--coredump", "abba", "x", "y"], check_rc=False)
    check(r.returncode == 2, "extra arguments accepted: %r" % r.stderr)
    if not have_tool("coredumpctl"):
        return
    r = run_chang(["core", "--coredump", "no-such-program-%d" % os.getpid()], check_rc=False)
    check(r.returncode == 1 and "coredumpctl found no core" in r.stderr, "%r" % r.stderr)
