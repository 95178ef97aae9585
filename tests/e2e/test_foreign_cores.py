"""Cores as they come from other tools and machines, made here from kernel cores of a
multithreaded program: without NT_FILE, with relative or cut NT_FILE names (the link map and
AUXV must stand in), with a library moved away (walks stop there and say so, by the same
rule in both unwinders). eu-stack and gdb are the oracles; every core is deleted after use."""
import json
import os
import shutil
import signal
import subprocess

from eustack import chang_stacks, differences, eu_stack
from harness import OUT, Program, build, chang_json, check, functions, have_tool, run_chang
from rewrite_notes import rewrite


def scratch(name):
    d = os.path.join(OUT, "foreign", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def core_pattern():
    with open("/proc/sys/kernel/core_pattern") as f:
        return f.read().strip()


def kernel_core_of(binary, threads, sig=signal.SIGABRT, args=()):
    """A kernel core of binary, hung at READY, killed by sig sent from here; or a skip text."""
    pat = core_pattern()
    if pat.startswith("|"):
        return None, "skip: core_pattern pipes cores to %s" % pat.split()[0]
    p = Program(binary, args=args, threads=threads, core_limit=True).wait_ready()
    core = p.kernel_core(sig)
    if core is None:
        p.cleanup()
        return None, "skip: the kernel wrote no core (core_pattern %s)" % pat
    return (p, core), None


def stacks_equal(got, want, what, **kw):
    d = differences(want, got, **kw)
    check(not d, "%s:\n  %s" % (what, "\n  ".join(d)))


def gdb_functions(exe, core, cwd):
    """{tid: [function names]} from gdb's backtraces (inline frames included, as chang's)."""
    r = subprocess.run(["gdb", "-nx", "-batch", "-ex", "thread apply all bt", exe, core],
                       capture_output=True, text=True, timeout=120, cwd=cwd)
    out, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("Thread ") and "LWP " in line:
            cur = out.setdefault(int(line.split("LWP ")[1].split(")")[0]), [])
        elif line.startswith("#") and cur is not None:
            words = line.split()
            fn = words[3] if len(words) > 3 and words[2] == "in" else words[1]
            cur.append(fn)
    return out


def test_cores_without_nt_file_or_with_cut_names():
    exe = build("abba")
    d = scratch("nt_file")
    made, skip = kernel_core_of(exe, 3)
    if skip:
        return skip
    p, core = made
    try:
        # chang alone, as on a machine where the core is all there is
        base = chang_json(["core", core])
        eu = eu_stack(core, cwd=d)
        check(len(eu) == 3, "eu-stack threads: %r" % eu)
        stacks_equal(chang_stacks(base), eu, "chang core CORE against eu-stack --core")
        ab = [t for t in base["threads"] if "transfer_ab" in functions(t)]
        check(len(ab) == 1 and "take_second" in functions(ab[0]), "stacks: %r" % [functions(t) for t in base["threads"]])
        want = chang_stacks(base)
        for variant, kw, warn in (("no-nt-file", {"drop_file": True}, "no NT_FILE note"),
                                  ("relative", {"relative": True}, "cannot be opened"),
                                  ("cut", {"cut": 9}, "cannot be opened")):
            path = os.path.join(d, variant + ".core")
            rewrite(core, path, **kw)
            try:
                for unwinder in ("libdw", "libunwind"):
                    rep = chang_json(["core", path, "--unwinder=" + unwinder])
                    got = chang_stacks(rep)
                    stacks_equal(got, want, "%s core, %s, against the original" % (variant, unwinder))
                    check(any(warn in w for w in rep["warnings"]), "%s: warnings %r" % (variant, rep["warnings"]))
                    check(all(t["unwind_error"] is None for t in rep["threads"]),
                          "%s: %r" % (variant, [t["unwind_error"] for t in rep["threads"]]))
                    libs = [m["name"] for m in rep["modules"] if not m["missing"]]
                    check(any("libc.so" in n for n in libs) and any(n.endswith("/abba") for n in libs),
                          "%s: modules %r" % (variant, rep["modules"]))
                # eu-stack agrees as far as it gets
                stacks_equal(want, eu_stack(path, cwd=d), "%s core: eu-stack" % variant,
                             eu_may_stop_early=True)
                if variant == "no-nt-file" and have_tool("gdb"):
                    # the program's own frames, as gdb finds them through the link map
                    # (gdb and chang name glibc's inline frames and aliases differently)
                    g = gdb_functions(exe, path, d)
                    mine = ("main", "take_second", "transfer_ab", "transfer_ba", "worker_ab", "worker_ba")
                    for t in rep["threads"]:
                        own = [f["function"] for f in t["frames"] if f["function"] in mine]
                        theirs = [f for f in g.get(t["tid"], []) if f in mine]
                        check(own and theirs == own, "gdb thread %d: %r, chang %r" % (t["tid"], g.get(t["tid"]), own))
            finally:
                os.unlink(path)
    finally:
        os.unlink(core)
        p.cleanup()
        shutil.rmtree(d, ignore_errors=True)


test_cores_without_nt_file_or_with_cut_names.timeout = 240


def sysroot_without(rep, root, lib):
    """Every module of rep linked under root, but lib: a library moved away."""
    for m in rep["modules"]:
        name = m["name"]
        if lib in os.path.basename(name):
            continue
        dst = root + name
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink(os.path.realpath(name), dst)


def test_library_moved_away():
    exe = build("abba")
    d = scratch("moved")
    made, skip = kernel_core_of(exe, 3)
    if skip:
        return skip
    p, core = made
    try:
        nofile = os.path.join(d, "no-nt-file.core")
        rewrite(core, nofile, drop_file=True)
        for c in (core, nofile):
            whole = chang_json(["core", c])
            root = os.path.join(d, "root")
            shutil.rmtree(root, ignore_errors=True)
            sysroot_without(whole, root, "libc.so")
            walks = {}
            for unwinder in ("libdw", "libunwind"):
                rep = chang_json(["core", c, "--sysroot=" + root, "--unwinder=" + unwinder])
                check(any("libc.so" in m["name"] and m["missing"] for m in rep["modules"]),
                      "libc not missing: %r" % rep["modules"])
                for t in rep["threads"]:
                    # every thread sleeps in libc: one frame, and a stop that says why
                    check(len(t["frames"]) == 1, "%s %s: frames past a missing libc: %r"
                          % (c, unwinder, [f["pc"] for f in t["frames"]]))
                    e = t["unwind_error"] or ""
                    check("libc.so" in e and "missing" in e, "%s %s unwind_error %r" % (c, unwinder, e))
                walks[unwinder] = chang_stacks(rep)
            check(walks["libdw"] == walks["libunwind"], "unwinders differ: %r" % walks)
            txt = run_chang(["core", c, "--sysroot=" + root]).stdout
            check(txt.count("# stack incomplete: frame #0 ") == txt.count(" @ 0x") > 0 and "whose file is missing" in txt,
                  "text does not say the walks stopped:\n%s" % txt)
        os.unlink(nofile)
    finally:
        os.unlink(core)
        p.cleanup()
        shutil.rmtree(d, ignore_errors=True)


test_library_moved_away.timeout = 180


def tid_named(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    raise AssertionError("no thread %r in %d" % (name, pid))


def test_crash_and_watchdog_signals():
    """The signal that made a core, who sent it and the thread that took it, in JSON and
    text; no thread state from the dump passed off as the program's."""
    exe = build("abba")
    made, skip = kernel_core_of(exe, 3)
    if skip:
        return skip
    p, core = made
    try:
        # a watchdog's SIGABRT, sent by another process (this one)
        rep = chang_json(["core", core])
        sig = rep["signal"]
        check(sig is not None and sig["name"] == "SIGABRT" and sig["signo"] == signal.SIGABRT, "signal %r" % sig)
        check(sig["code"] == 0 and sig["code_name"] == "SI_USER", "si_code %r" % sig)
        check(sig["sender_pid"] == os.getpid() and sig["sender_uid"] == os.getuid(), "sender %r" % sig)
        check(sig["addr"] is None and sig["tid"] in [t["tid"] for t in rep["threads"]], "signal %r" % sig)
        check(rep["thread_states"] == "inferred" and all(t["kernel_state"] == "?" for t in rep["threads"]),
              "states: %r" % [t["kernel_state"] for t in rep["threads"]])
        check([f["kind"] for f in rep["findings"]].count("deadlock") == 1, "findings %r" % rep["findings"])
        txt = run_text(["core", core])
        want = "signal: SIGABRT sent by process %d (uid %d) with kill(); taken by thread %d" % (
            os.getpid(), os.getuid(), sig["tid"])
        check(want in txt and "inferred" in txt, "text header:\n%s" % txt[:600])
    finally:
        os.unlink(core)
        p.cleanup()

    # a crash: SIGSEGV taken by the thread that faulted, not the main one
    exe = build("crash_thread")
    pat = core_pattern()
    if pat.startswith("|"):
        return "skip: core_pattern pipes cores to %s" % pat.split()[0]
    with Program(exe, threads=3, core_limit=True).wait_ready() as p:
        crasher = tid_named(p.pid, "crasher")
        gc = p.gcore()
        g = chang_json(["core", gc])
        check(g["signal"] is None, "gcore core has a signal: %r" % g["signal"])
        os.unlink(gc)
        core = p.kernel_core(signal.SIGUSR1)
        if core is None:
            return "skip: the kernel wrote no core (core_pattern %s)" % pat
        try:
            for unwinder in ("libdw", "libunwind"):
                rep = chang_json(["core", core, "--unwinder=" + unwinder])
                sig = rep["signal"]
                check(sig and sig["name"] == "SIGSEGV" and sig["code_name"] == "SEGV_MAPERR" and
                      sig["addr"] == "0x0" and sig["sender_pid"] is None, "signal %r" % sig)
                check(sig["tid"] == crasher and sig["tid"] != p.pid, "taken by %r, crasher %d" % (sig["tid"], crasher))
                t = [t for t in rep["threads"] if t["tid"] == crasher][0]
                fns = functions(t)
                check(fns[:2] == ["write_through_null", "crasher"], "%s: crasher's stack %r" % (unwinder, fns))
            txt = run_text(["core", core])
            check("signal: SIGSEGV (SEGV_MAPERR at address 0x0); taken by thread %d" % crasher in txt,
                  "text header:\n%s" % txt[:600])
        finally:
            os.unlink(core)


test_crash_and_watchdog_signals.timeout = 180


def run_text(args):
    return run_chang(args).stdout


def test_module_without_eh_frame_hdr():
    """A module with .eh_frame but no .eh_frame_hdr: libdw reads its CFI, libunwind cannot;
    libunwind's walk stops there and says so, its frames up to there are libdw's, and no
    frame is guessed past it."""
    exe = build("abba", extra=["-Wl,--no-eh-frame-hdr"], out_name="abba-no-eh-frame-hdr")
    r = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True)
    if "GNU_EH_FRAME" in r.stdout:
        return "skip: the linker made .eh_frame_hdr anyway"
    made, skip = kernel_core_of(exe, 3)
    if skip:
        return skip
    p, core = made
    try:
        dw = chang_json(["core", core, "--unwinder=libdw"])
        uw = chang_json(["core", core, "--unwinder=libunwind"])
        a, b = chang_stacks(dw), chang_stacks(uw)
        ab = [t for t in dw["threads"] if "transfer_ab" in functions(t)]
        check(len(ab) == 1 and all(t["unwind_error"] is None for t in dw["threads"]), "libdw: %r" % dw["threads"])
        for t in uw["threads"]:
            tid = t["tid"]
            check(b[tid] == a[tid][:len(b[tid])] and len(b[tid]) < len(a[tid]),
                  "thread %d: libunwind %r, libdw %r" % (tid, b[tid], a[tid]))
            e = t["unwind_error"] or ""
            check(".eh_frame_hdr" in e and "--unwinder=libdw" in e and "abba-no-eh-frame-hdr" in e,
                  "thread %d unwind_error %r" % (tid, e))
    finally:
        os.unlink(core)
        p.cleanup()


test_module_without_eh_frame_hdr.timeout = 120


def link_map_entries(core):
    """Addresses of the link_map entries in a corefile.Core, by the same chain chang reads."""
    import struct
    import corefile
    aux = core.auxv()
    phdr, phnum = aux[corefile.AT_PHDR], aux[5]  # AT_PHNUM
    phs = [struct.unpack("<IIQQQQQQ", core.read_mem(phdr + 56 * i, 56)) for i in range(phnum)]
    bias = phdr - [p for p in phs if p[0] == 6][0][3]  # PT_PHDR
    dyn = bias + [p for p in phs if p[0] == 2][0][3]  # PT_DYNAMIC
    i = 0
    while True:
        tag, val = struct.unpack("<qQ", core.read_mem(dyn + 16 * i, 16))
        if tag == 21:  # DT_DEBUG
            break
        i += 1
    lm = struct.unpack("<Q", core.read_mem(val + 8, 8))[0]
    out = []
    while lm:
        out.append(lm)
        lm = struct.unpack("<Q", core.read_mem(lm + 24, 8))[0]
    return out


def test_lying_link_map():
    """A link map that loops, or whose entries point outside the core: the walk ends, says
    why, and the stacks are still read."""
    import struct
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))
    from corefile import Core
    exe = build("abba")
    d = scratch("lying-linkmap")
    made, skip = kernel_core_of(exe, 3)
    if skip:
        return skip
    p, core = made
    try:
        nofile = os.path.join(d, "nofile.core")
        rewrite(core, nofile, drop_file=True)
        for how in ("loop", "outside"):
            c = Core.read(nofile)
            ents = link_map_entries(c)
            check(len(ents) >= 4, "link map %r" % ents)
            target = ents[1] if how == "loop" else 0x10
            c.write_mem(ents[-1] + 24, struct.pack("<Q", target))
            path = os.path.join(d, how + ".core")
            c.write(path)
            r = run_chang(["core", path, "--format=json"], timeout=30)
            rep = json.loads(r.stdout)
            w = " ".join(rep["warnings"])
            want = "loops" if how == "loop" else "is not in the core"
            check(want in w, "%s: warnings %r" % (how, rep["warnings"]))
            check(rep["thread_count"] == 3 and any("transfer_ab" in functions(t) for t in rep["threads"]),
                  "%s: stacks %r" % (how, [functions(t) for t in rep["threads"]]))
            os.unlink(path)
        os.unlink(nofile)
    finally:
        os.unlink(core)
        p.cleanup()
        shutil.rmtree(d, ignore_errors=True)


test_lying_link_map.timeout = 120
