"""Cores that lie, through the real `chang core`: stacks whose return addresses or frame
pointers loop, 100,000 threads, segments that wrap the address space or swallow it,
NT_FILE entries naming a FIFO, devices and /etc/shadow, notes with absurd sizes, files cut
anywhere. Each is made from a real gcore core of tests/programs/abba.c (tests/fuzz/corefile.py
rewrites it), and each run must end in bounded time and memory, without a crash: exit 0
with a report, or exit 1 with one "chang: " line."""
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

from harness import OUT, ROOT, Program, TestFailure, build, chang_bin, check

sys.path.insert(0, os.path.join(ROOT, "tests", "fuzz"))
import corefile  # noqa: E402
from corefile import Core, Load, Note  # noqa: E402

# Address space for a release chang (ASan's shadow memory cannot live under any limit), and
# peak RSS for both: room for libdw mapping the libraries it reads, not for a per-thread
# or per-byte-claimed cost gone wrong (100,000 threads take about 130 MiB).
AS_LIMIT = 2 << 30
RSS_LIMIT_MB = {"release": 400, "asan": 600}
MAX_FRAMES = 256

_base = {}


def under_asan():
    return "asan" in chang_bin()


def scratch(name):
    d = os.path.join(OUT, "lying", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def base_core():
    """(executable, gcore core path) of a deadlocked abba, made once per run."""
    if "core" not in _base:
        exe = build("abba")
        d = scratch("base")
        with Program(exe, threads=3) as p:
            p.wait_ready()
            core = p.gcore()
            path = os.path.join(d, "abba.core")
            shutil.copy(core, path)
        _base["exe"], _base["core"] = exe, path
    return _base["exe"], _base["core"]


def run_bounded(args, timeout=60):
    """chang ARGS under an address-space limit (release) and a deadline; returns
    (exit status, stdout, stderr, seconds, peak RSS in MiB)."""
    asan = under_asan()

    def limits():
        if not asan:
            resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen([chang_bin()] + list(args), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             preexec_fn=limits)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise TestFailure("chang %s ran longer than %ds" % (" ".join(args), timeout))
            time.sleep(0.01)
        secs = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"), secs, \
            ru.ru_maxrss / 1024


def check_ended_well(what, rc, out, err, rss):
    """Exit 0, or 1 with one "chang: " line; no sanitizer report; memory within bounds."""
    check(rc in (0, 1), "%s: chang exited %d: %s" % (what, rc, err[-3000:]))
    if rc == 1:
        check(err.startswith("chang: ") and err.count("\n") == 1, "%s: not one error line: %r" % (what, err[-2000:]))
    check("Sanitizer" not in err and "runtime error" not in err, "%s: %s" % (what, err[-3000:]))
    limit = RSS_LIMIT_MB["asan" if under_asan() else "release"]
    check(rss < limit, "%s: peak RSS %.0f MiB (limit %d)" % (what, rss, limit))


def analyse(what, core_path, exe=None, extra=(), timeout=60):
    args = ["core"] + ([exe] if exe else []) + [core_path, "--format=json"] + list(extra)
    rc, out, err, secs, rss = run_bounded(args, timeout)
    check_ended_well(what, rc, out, err, rss)
    return (json.loads(out) if rc == 0 else None), err, secs


def worker_thread_notes(core, n):
    """The PRSTATUS notes of n threads other than the leader (abba's workers)."""
    ths = [t for t in core.threads() if Core.tid(t) != min(Core.tid(x) for x in core.threads())]
    check(len(ths) >= n, "the core has %d worker threads" % len(ths))
    return ths[:n]


def exe_base(core, exe):
    files, page = core.files()
    starts = [s for s, e, o, p in files if os.path.realpath(p) == os.path.realpath(exe) and o == 0]
    check(starts, "the executable's mapping is not in NT_FILE")
    return starts[0]


def test_cyclic_stacks():
    """One worker's return addresses all name the same function entry, so a CFI unwinder
    could follow them forever; the other's saved frame pointers loop through two frames
    into memory no module covers. Both unwinders must stop (at the frame limit or at the
    loop) and still report the rest."""
    exe, src = base_core()
    core = Core.read(src)
    d = scratch("cyclic")
    a, b = worker_thread_notes(core, 2)
    entry = exe_base(core, exe) + corefile.elf_symbols(exe)["worker_ab"]
    sp = Core.regs(a)["rsp"] & ~0xF
    words = min(1024, (core.load_at(sp).vaddr + len(core.load_at(sp).data) - sp) // 8)
    check(words > MAX_FRAMES + 8, "only %d words of stack above the SP" % words)
    core.write_mem(sp, struct.pack("<%dQ" % words, *([entry + 1] * words)))
    Core.set_regs(a, rip=entry, rsp=sp)
    sp = Core.regs(b)["rsp"] & ~0xF
    core.write_mem(sp, struct.pack("<4Q", sp + 16, sp + 0x100, sp, sp + 0x100))
    Core.set_regs(b, rip=sp + 0x100, rbp=sp)
    path = os.path.join(d, "cyclic.core")
    core.write(path)
    for unwinder in ("libunwind", "libdw"):
        rep, err, secs = analyse("cyclic stack", path, exe, ["--unwinder=" + unwinder], timeout=60)
        check(rep is not None, "%s: %s" % (unwinder, err))
        by_tid = {t["tid"]: t for t in rep["threads"]}
        ta, tb = by_tid[Core.tid(a)], by_tid[Core.tid(b)]
        check(len(ta["frames"]) <= MAX_FRAMES and len(tb["frames"]) <= MAX_FRAMES,
              "%s: %d and %d frames" % (unwinder, len(ta["frames"]), len(tb["frames"])))
        # the return-address loop is only ended by the frame limit
        check(len(ta["frames"]) == MAX_FRAMES and ta["truncated"],
              "%s: looping thread: %d frames, truncated %s, error %s" % (
                  unwinder, len(ta["frames"]), ta["truncated"], ta["unwind_error"]))
        check(len(tb["frames"]) < 16, "%s: frame-pointer loop: %d frames" % (unwinder, len(tb["frames"])))
        leader = [t for t in rep["threads"] if t["tid"] not in (Core.tid(a), Core.tid(b))]
        check(leader and any(f["function"] == "main" for f in leader[0]["frames"]),
              "%s: the untouched thread lost its stack" % unwinder)


test_cyclic_stacks.timeout = 180


def test_hundred_thousand_threads():
    """100,000 NT_PRSTATUS notes (every one a copy of a real worker's, under its own tid):
    all read, unwound (one distinct stack) and grouped in bounded time and memory."""
    exe, src = base_core()
    core = Core.read(src)
    d = scratch("threads")
    proto = worker_thread_notes(core, 1)[0]
    n = 100000
    notes = []
    for i in range(n):
        t = Note(proto.name, proto.type, proto.desc)
        Core.set_tid(t, 1000000 + i)
        notes.append(t)
    core.notes = [x for x in core.notes if x.type != corefile.NT_PRSTATUS] + notes
    path = os.path.join(d, "many.core")
    core.write(path)
    rc, out, err, secs, rss = run_bounded(["core", exe, path, "--format=threads"], timeout=120)
    check_ended_well("100,000 threads", rc, out, err, rss)
    check(rc == 0, err)
    check(out.count("\n") > 5, "no report: %r" % out[:500])
    # a bound generous enough for a loaded CI machine, but not for anything per-thread slow
    check(secs < 90, "100,000 threads took %.1f s" % secs)
    shutil.rmtree(d, ignore_errors=True)


test_hundred_thousand_threads.timeout = 240


def test_segments_that_wrap_overlap_or_swallow():
    exe, src = base_core()
    d = scratch("loads")
    core = Core.read(src)
    stack = core.load_at(Core.regs(worker_thread_notes(core, 1)[0])["rsp"])
    core.loads.append(Load(2**64 - 0x1000, 0x2000, corefile.PF_R, b"\xaa" * 0x100))	# wraps
    # the stack again with other bytes, a page shorter: sorted after the real one, it loses
    core.loads.append(Load(stack.vaddr, stack.memsz - 0x1000, corefile.PF_R | corefile.PF_W,
                           b"\x55" * (stack.memsz - 0x1000)))
    core.loads.append(Load(stack.vaddr + 0x1000, 2**63, corefile.PF_R, b"\x66" * 0x1000))	# into the kernel
    path = os.path.join(d, "wrap.core")
    core.write(path)
    rep, err, secs = analyse("wrapping and overlapping segments", path, exe)
    check(rep is not None, err)
    check(any("wrap around or overlap" in w for w in rep["warnings"]), "not said: %r" % rep["warnings"])
    # the first of two copies of an address wins, so the real stacks still unwind
    check(any(f["kind"] == "deadlock" for f in rep["findings"]), "deadlock lost: %r" % rep["findings"])

    # one segment claiming the whole address space before every other one
    core = Core.read(src)
    core.loads.insert(0, Load(0, 2**63, corefile.PF_R, b"\x77" * 0x1000))
    path = os.path.join(d, "swallow.core")
    core.write(path)
    analyse("a segment covering the address space", path, exe)


def test_hostile_file_names():
    """NT_FILE naming a FIFO (opening it would block forever), devices, /proc/self/mem
    and /etc/shadow in place of the libraries: none opened, the run ends, threads reported."""
    exe, src = base_core()
    d = scratch("names")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    core = Core.read(src)
    files, page = core.files()
    hostile = [fifo, "/dev/zero", "/dev/tty", "/proc/self/mem", "/etc/shadow", "/", "/dev/stdin"]
    renamed = [(s, e, o, hostile[i % len(hostile)] if p != exe else p) for i, (s, e, o, p) in enumerate(files)]
    core.set_files(renamed, page)
    path = os.path.join(d, "names.core")
    core.write(path)
    rep, err, secs = analyse("hostile NT_FILE names", path, exe, timeout=30)
    check(rep is not None, err)
    check(len(rep["threads"]) == 3, "threads: %d" % len(rep["threads"]))
    opened = [m for m in rep["modules"] if m["file"] in hostile]
    check(not opened, "opened: %r" % opened)


def test_notes_with_absurd_sizes():
    """After the real notes: a note claiming 4 GiB, and one whose name size runs off the
    end; then the PT_NOTE claiming 100,000 threads' worth of bytes the file lacks."""
    exe, src = base_core()
    d = scratch("notes")
    core = Core.read(src)
    blob = b"".join(n.pack() for n in core.notes)
    bad = blob + struct.pack("<III", 5, 0xFFFFFFF0, corefile.NT_PRSTATUS) + b"CORE\0\0\0\0" + b"\x01" * 64
    path = os.path.join(d, "huge-note.core")
    core.write(path, notes_blob=bad)
    rep, err, secs = analyse("a 4 GiB note", path, exe)
    check(rep is not None and len(rep["threads"]) == 3, err)
    check(any("cut short" in w for w in rep["warnings"]), "not said: %r" % rep["warnings"])

    bad = blob + struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path = os.path.join(d, "negative-note.core")
    core.write(path, notes_blob=bad)
    rep, err, secs = analyse("a note of size -1", path, exe)
    check(rep is not None and len(rep["threads"]) == 3, err)

    # the PT_NOTE's size patched to claim 100,000 PRSTATUS notes
    with open(path, "rb") as f:
        b = bytearray(f.read())
    phoff = corefile.EHDR.unpack_from(b, 0)[5]
    fields = list(corefile.PHDR.unpack_from(b, phoff))
    fields[5] = 100000 * (12 + 8 + corefile.PRSTATUS_SIZE)
    corefile.PHDR.pack_into(b, phoff, *fields)
    path = os.path.join(d, "claims.core")
    with open(path, "wb") as f:
        f.write(b)
    rep, err, secs = analyse("100,000 threads claimed", path, exe)
    check(rep is not None and len(rep["threads"]) == 3, err)


def test_cut_anywhere():
    """The core cut at points through its headers, notes and memory: a report or one error
    line, each time."""
    exe, src = base_core()
    d = scratch("cut")
    core = Core.read(src)
    data = core.to_bytes(align=16)
    notes_end = corefile.EHDR.size + corefile.PHDR.size * (1 + len(core.loads)) + sum(len(n.pack()) for n in core.notes)
    cuts = [0, 1, 16, 63, 64, 100, 64 + corefile.PHDR.size, notes_end - 1000, notes_end - 7, notes_end,
            notes_end + 4096, (notes_end + len(data)) // 2, len(data) - 1]
    path = os.path.join(d, "cut.core")
    reports = 0
    for n in cuts:
        with open(path, "wb") as f:
            f.write(data[:max(0, n)])
        rep, err, secs = analyse("cut at %d" % n, path, exe, timeout=30)
        reports += rep is not None
    check(reports >= 4, "only %d of %d cut cores gave a report" % (reports, len(cuts)))
