"""aarch64 cores on this (x86_64) host: test programs cross-built with Debian's
gcc-aarch64-linux-gnu, run under qemu-aarch64 (qemu-user), which writes an aarch64 core of the
guest (qemu_PROG_DATE_PID.core in its working directory, every thread, no NT_FILE) when it
gets SIGABRT under `ulimit -c`. `chang core --sysroot /usr/aarch64-linux-gnu` on that core
must find what it finds on a kernel core of the same program built for x86_64: the same
findings, and for every thread the same state, wait, lock and owner. The ready handshake
works unchanged under qemu: the guest's getpid is qemu's pid, and its threads are qemu's
threads sleeping in the host's futex. qemu's own helper thread (RCU) sleeps too."""
import glob
import os
import signal
import subprocess

from harness import OUT, PROGRAMS, Program, TestFailure, build, chang_json, check, run_chang

SYSROOT = "/usr/aarch64-linux-gnu"
CROSS_CC = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"


def missing_tools():
    import shutil
    lack = [t for t in (CROSS_CC, QEMU) if not shutil.which(t)]
    if not os.path.exists(os.path.join(SYSROOT, "lib", "libc.so.6")):
        lack.append(SYSROOT + " (libc6-arm64-cross)")
    if lack:
        return "skip: no %s (tests/install-deps.sh installs qemu-user and gcc-aarch64-linux-gnu)" % ", ".join(lack)
    return None


def build_aarch64(name, static=False):
    src = os.path.join(PROGRAMS, name + ".c")
    out_dir = os.path.join(OUT, "bin", "aarch64")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, name + ("-static" if static else ""))
    deps = [src, os.path.join(PROGRAMS, "ready.h")]
    if os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(d) for d in deps):
        return out
    cmd = [CROSS_CC, "-O2", "-g", "-pthread", "-D_GNU_SOURCE", "-I", PROGRAMS, "-o", out, src]
    if static:
        cmd.append("-static")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("cross-building %s failed:\n%s" % (name, r.stderr))
    return out


def qemu_core(binary, args=()):
    """Run binary under qemu-aarch64 until READY and every thread sleeps, SIGABRT it, and
    return (Program, the guest core qemu wrote)."""
    # LD_LIBRARY_PATH=/lib (which qemu -L maps into the sysroot): with Debian's arm64
    # multiarch libc6 installed, the guest's loader would take libc from the host's
    # /etc/ld.so.cache (/lib/aarch64-linux-gnu, another build than the cross loader's) and hang
    p = Program(QEMU, args=["-L", SYSROOT, "-E", "LD_LIBRARY_PATH=/lib", binary] + list(args), core_limit=True)
    try:
        p.wait_ready(timeout=60)
        os.kill(p.pid, signal.SIGABRT)
        p.proc.wait(timeout=60)
        cores = glob.glob(os.path.join(p.cwd, "qemu_%s_*_%d.core" % (os.path.basename(binary), p.pid)))
        check(cores, "qemu wrote no guest core in %s: %r" % (p.cwd, os.listdir(p.cwd)))
        # qemu aborts itself afterwards, and the kernel may add a (sparse) core of qemu: not ours
        for c in glob.glob(os.path.join(p.cwd, "core*")):
            os.unlink(c)
        return p, cores[0]
    except Exception:
        p.cleanup()
        raise


def x86_core(binary, args=()):
    p = Program(binary, args=list(args), core_limit=True)
    try:
        p.wait_ready(timeout=30)
        core = p.kernel_core(signal.SIGABRT)
        check(core, "the kernel wrote no core of %s in %s (core_pattern?)" % (binary, p.cwd))
        return p, core
    except Exception:
        p.cleanup()
        raise


def own_function(t, src):
    """The outermost function of the program's own source on a thread's stack (the thread's
    role: worker_ab, main), which names it the same on both architectures."""
    fns = [f["function"] for f in t["frames"] if f.get("file") and f["file"].endswith("/" + src)]
    return fns[-1] if fns else "?"


def summary(report, src):
    """What must agree between the architectures: per thread (named by its role), its state,
    wait kind, lock symbol and owner's role; the findings with their locks and threads."""
    roles = {t["tid"]: own_function(t, src) for t in report["threads"]}
    threads = []
    for t in report["threads"]:
        w = t["wait"] or {}
        owner = w.get("owner_tid")
        threads.append((roles[t["tid"]], t["state"], w.get("kind"), w.get("symbol"),
                        roles.get(owner, "gone" if owner else None),
                        roles.get(w.get("likely_owner_tid")) if w.get("likely_owner_tid") else None))
    findings = []
    for f in report["findings"]:
        findings.append((f["kind"], tuple(sorted((l["kind"], l["symbol"], roles.get(l["owner_tid"], "gone" if l["owner_tid"] else None))
                                                 for l in f["locks"])),
                         tuple(sorted(roles.get(t, "?") for t in f["tids"]))))
    return sorted(threads, key=repr), sorted(findings, key=repr)


def compare(name, args=(), static=False, expect=None, also_libunwind=False):
    """Run name on both architectures and compare chang's reports of their cores."""
    skip = missing_tools()
    if skip:
        return skip
    src = name + ".c"
    x86_exe = build(name)
    a64_exe = build_aarch64(name, static=static)
    xp, xcore = x86_core(x86_exe, args)
    try:
        want = chang_json(["core", x86_exe, xcore])
    finally:
        xp.cleanup()
    ap, acore = qemu_core(a64_exe, args)
    try:
        got = chang_json(["core", "--sysroot", SYSROOT, a64_exe, acore], timeout=120)
        text = run_chang(["core", "--sysroot", SYSROOT, a64_exe, acore], check_rc=False, timeout=120).stdout
        if also_libunwind:
            # libunwind serves one architecture: it says so, once, and libdw walks instead
            lu = chang_json(["core", "--unwinder=libunwind", "--sysroot", SYSROOT, a64_exe, acore], timeout=120)
            said = [w for w in lu["warnings"] if "libunwind unwinder cannot walk aarch64 stacks" in w]
            check(len(said) == 1, "libunwind on an aarch64 core: warnings %r" % lu["warnings"])
            check(summary(lu, src) == summary(got, src), "libunwind's run differs from libdw's")
    finally:
        ap.cleanup()
    check(want["arch"] == "x86_64" and got["arch"] == "aarch64", "arch: %r %r" % (want["arch"], got["arch"]))
    check(", aarch64\n" in text.split("\n", 1)[0] + "\n", "the header does not name aarch64: %r" % text[:200])
    check(got["thread_count"] == want["thread_count"], "%s: %d aarch64 threads, %d x86_64 threads" %
          (name, got["thread_count"], want["thread_count"]))
    for t in got["threads"]:
        check(t["frames"] and not t["unwind_error"], "%s: aarch64 thread %d: %r %r" %
              (name, t["tid"], t["unwind_error"], [f["function"] for f in t["frames"]]))
    # qemu dumps the thread that took SIGABRT after its call returned into the signal (the
    # kernel would have rewound it): x0, a futex call's address, is lost. chang must say so;
    # that thread's wait is then left out of the comparison, when the names cannot stand in
    # (the cross libc has no debug symbols: a dynamic pthread_join is a bare futex there).
    taker = got["signal"]["tid"] if got.get("signal") else None
    for t in got["threads"]:
        if (t["tid"] == taker and t["wait"] and t["wait"]["kind"] == "futex" and
                "had returned when the core was written" in (t["wait"]["detail"] or "")):
            role = own_function(t, src)
            want = dict(want, threads=[w for w in want["threads"] if own_function(w, src) != role])
            got = dict(got, threads=[g for g in got["threads"] if g["tid"] != taker])
    ws, wf = summary(want, src)
    gs, gf = summary(got, src)
    check(gf == wf, "%s: findings differ:\n  x86_64:  %r\n  aarch64: %r" % (name, wf, gf))
    check(gs == ws, "%s: threads differ:\n  x86_64:  %r\n  aarch64: %r" % (name, ws, gs))
    if expect:
        check(any(f[0] == expect for f in gf), "%s: no %s finding on aarch64: %r" % (name, expect, gf))
    return None


def test_aarch64_abba_deadlock():
    return compare("abba", expect="deadlock")


def test_aarch64_abba_deadlock_static():
    return compare("abba", static=True, expect="deadlock")


def test_aarch64_self_deadlock():
    return compare("an_selflock", expect="self-deadlock", also_libunwind=True)


def test_aarch64_rwlock_cycle():
    return compare("an_rwcycle", expect="deadlock")


def test_aarch64_condvar_waiters():
    return compare("condvar_many", args=["4"])


def test_aarch64_abandoned_lock():
    return compare("an_abandoned", expect="abandoned-lock")


def test_aarch64_stdio_lock_owner():
    return compare("an_stdio")


def test_aarch64_philosophers_static():
    return compare("an_philosophers", static=True, expect="deadlock")


def test_aarch64_other_machine_one_line():
    """A core of an architecture chang does not read: one line naming the machine."""
    skip = missing_tools()
    if skip:
        return skip
    d = os.path.join(OUT, "foreign-arch")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "riscv.core")
    # an ELF core header of RISC-V (EM_RISCV 243), 64-bit little-endian, one PT_NOTE
    import struct
    eh = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7, 4, 243, 1,
                     0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 4, 0, 120, 0, 0, 0, 0, 4)
    with open(path, "wb") as f:
        f.write(eh + ph)
    r = run_chang(["core", path], check_rc=False)
    os.unlink(path)
    check(r.returncode != 0, "chang read a RISC-V core")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and "RISC-V (EM_RISCV, 243)" in lines[0] and "x86_64 and aarch64" in lines[0],
          "stderr: %r" % r.stderr)
    return None


for _t in (test_aarch64_abba_deadlock, test_aarch64_abba_deadlock_static, test_aarch64_self_deadlock,
           test_aarch64_rwlock_cycle, test_aarch64_condvar_waiters, test_aarch64_abandoned_lock,
           test_aarch64_stdio_lock_owner, test_aarch64_philosophers_static):
    _t.timeout = 240


# ---- Go on arm64: goroutines from qemu's core of a GOARCH=arm64 program ----

GO_SCENARIOS = ("chansend", "mutexdeadlock", "mixed")


def build_go_arm64(scenario, go, label):
    from test_go import BIN_DIR
    src = os.path.join(PROGRAMS, "go", scenario)
    os.makedirs(BIN_DIR, exist_ok=True)
    out = os.path.join(BIN_DIR, scenario + label + ".arm64")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(os.path.join(src, "main.go")):
        return out
    # internal linking, no cgo: nothing of the host's C toolchain
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOTOOLCHAIN="local", CGO_ENABLED="0",
               GOARCH="arm64", GOOS="linux", GOCACHE=os.path.join(OUT, "gocache"),
               GOPATH=os.path.join(OUT, "gopath"))
    r = subprocess.run([go, "build", "-o", out, "."], cwd=src, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise TestFailure("GOARCH=arm64 go build %s failed:\n%s" % (scenario, r.stderr[-2000:]))
    return out


def go_qemu_core(binary):
    """The scenario under qemu-aarch64 with its oracles (Go's own debug=1) written at READY;
    then SIGABRT, which Go with GOTRACEBACK=crash turns into a core (qemu writes it)."""
    cwd = os.path.join(OUT, "run", "%s-%d" % (os.path.basename(binary), os.getpid()))
    os.makedirs(cwd, exist_ok=True)
    env = dict(os.environ, ORACLE_DIR=cwd, GOTRACEBACK="crash")
    # Go's crash dump of every goroutine goes to a file, not the test's output; exec keeps
    # the pid qemu's
    p = Program("/bin/sh", args=["-c", 'exec %s "$0" 2>%s' % (QEMU, os.path.join(cwd, "stderr.txt")), binary],
                cwd=cwd, env=env, core_limit=True)
    try:
        p.wait_line("READY", timeout=120)
        with open(os.path.join(cwd, "goroutine.debug1.txt")) as f:
            oracle = f.read()
        os.kill(p.pid, signal.SIGABRT)
        p.proc.wait(timeout=120)
        cores = glob.glob(os.path.join(cwd, "qemu_%s_*_%d.core" % (os.path.basename(binary), p.pid)))
        check(cores, "qemu wrote no guest core of the Go program in %s: %r" % (cwd, os.listdir(cwd)))
        for c in glob.glob(os.path.join(cwd, "core*")):
            os.unlink(c)
        return p, cores[0], oracle
    except Exception:
        p.cleanup()
        raise


def group_shapes(text):
    """Go's debug=1 groups without their PCs: count and function names, which are the same
    on amd64 and arm64 for the same scenario."""
    from test_go import left_out, parse_profile
    _, groups = parse_profile(text)
    out = []
    for g in groups:
        if left_out(g):
            continue
        lines = g.split("\n")
        fns = tuple(l.split()[2].rsplit("+", 1)[0] for l in lines if l.startswith("#\t0x"))
        out.append((lines[0].split(" @ ")[0], fns))
    return sorted(out)


def test_aarch64_go_goroutines():
    """chang's goroutine profile from qemu's core of a GOARCH=arm64 program equals Go's own
    debug=1 (written by the program under qemu), group for group, byte for byte; and the
    groups have the shapes (counts, functions) the same scenario has on amd64."""
    skip = missing_tools()
    if skip:
        return skip
    import shutil
    if not shutil.which("go"):
        return "skip: no Go toolchain (apt-get install golang-go)"
    return go_goroutines_arm64([("", shutil.which("go"))])


def test_aarch64_go_goroutines_newest():
    """The same with the newest toolchain; compiling its standard library for arm64 into a
    cold cache takes a minute or two, so the extended suite runs it."""
    skip = missing_tools()
    if skip:
        return skip
    from test_go import go_for, NEWEST_GO
    if not go_for(NEWEST_GO):
        return "skip: Go %s is not installed (tests/install-deps.sh)" % NEWEST_GO
    return go_goroutines_arm64([(".go" + NEWEST_GO, go_for(NEWEST_GO))])


def go_goroutines_arm64(chains):
    from test_go import compare_profiles, start, build as build_amd64
    done = 0
    for label, go in chains:
        for sc in GO_SCENARIOS:
            exe = build_go_arm64(sc, go, label)
            p, core, oracle = go_qemu_core(exe)
            try:
                got = run_chang(["core", exe, core, "--format=goroutine"], timeout=180).stdout
                rep = chang_json(["core", exe, core], timeout=180)
            finally:
                p.cleanup()
            check(rep["arch"] == "aarch64" and rep.get("go_version"), "%s%s: %r %r" %
                  (sc, label, rep["arch"], rep.get("go_version")))
            n = compare_profiles(got, [oracle])
            check(n >= 3, "%s%s: only %d groups compared" % (sc, label, n))
            with start(build_amd64(sc, go, label)) as xp:
                amd64 = xp.ready_oracle
            check(group_shapes(got) == group_shapes(amd64), "%s%s: arm64 groups differ from amd64's:\n%r\n%r" %
                  (sc, label, group_shapes(got), group_shapes(amd64)))
            done += 1
    return None


test_aarch64_go_goroutines.timeout = 900
test_aarch64_go_goroutines_newest.timeout = 900
test_aarch64_go_goroutines_newest.extended = True


def rewind_like_kernel(core):
    """Make qemu's core look as the kernel leaves threads interrupted in a call: PC back on
    the svc (x0 still the first argument, as qemu left it). Every thread but the one that
    took the signal (the first NT_PRSTATUS) is rewound by 4 bytes, in place."""
    import struct
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))
    import corefile
    from rewrite_notes import note_segment
    pc_at = 112 + 32 * 8	# elf_prstatus.pr_reg, then user_pt_regs.pc
    with open(core, "r+b") as f:
        head = f.read(1 << 20)
        _, ph = note_segment(head)
        off, size = ph[2], ph[5]
        pos, first, n = off, True, 0
        while pos < off + size:
            namesz, descsz, ntype = struct.unpack_from("<III", head, pos)
            desc = pos + 12 + ((namesz + 3) & ~3)
            if ntype == corefile.NT_PRSTATUS:
                if not first:
                    pc = struct.unpack_from("<Q", head, desc + pc_at)[0]
                    f.seek(desc + pc_at)
                    f.write(struct.pack("<Q", pc - 4))
                    n += 1
                first = False
            pos = desc + ((descsz + 3) & ~3)
    return n


def test_aarch64_rewound_calls():
    """The kernel's way (PC on the svc, arguments in x0..x5) finds what qemu's way finds:
    the same core with its threads rewound gives the same findings and waits."""
    skip = missing_tools()
    if skip:
        return skip
    exe = build_aarch64("an_philosophers")
    p, core = qemu_core(exe)
    try:
        before = chang_json(["core", "--sysroot", SYSROOT, exe, core], timeout=120)
        check(rewind_like_kernel(core) >= 5, "fewer threads rewound than philosophers")
        after = chang_json(["core", "--sysroot", SYSROOT, exe, core], timeout=120)
    finally:
        p.cleanup()
    src = "an_philosophers.c"
    check(summary(after, src) == summary(before, src), "rewound: %r\nas dumped: %r" %
          (summary(after, src), summary(before, src)))
    check(any(f["kind"] == "deadlock" for f in after["findings"]), "no deadlock after the rewind")
    return None
