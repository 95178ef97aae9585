#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, made from real programs on this machine.

    gen_corpus.py DIR      the build-time corpus, one directory per target under DIR
                           (build/fuzz/corpus): cores of tests/programs/abba.c from gcore and
                           from chang attach --save-core, its /proc texts, build-id notes of
                           system binaries, compressed cores, and, when go is installed, a
                           small Go program's executable, pclntab and saved core
    gen_corpus.py --seeds  the small seeds kept in the tree (tests/fuzz/seeds/, each under
                           64 KiB): trimmed and hand-made versions of the same

Needs ./chang built (tests/run.py and the Makefile build it first), gcore, and ptrace."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import corefile  # noqa: E402
from corefile import Core, Load, Note  # noqa: E402
import harness  # noqa: E402

SEED_MAX = 64 << 10
COMPRESSORS = {"gz": ["gzip", "-9", "-c"], "zst": ["zstd", "-q", "-19", "-c"], "xz": ["xz", "-9", "-c"],
               "lz4": ["lz4", "-q", "-9", "-c"]}
TEXT = 0x401000


def put(d, target, name, data):
    os.makedirs(os.path.join(d, target), exist_ok=True)
    with open(os.path.join(d, target, name), "wb") as f:
        f.write(data)


def elf_sections(path):
    """{name: (addr, offset, size)} from an ELF file's section headers."""
    with open(path, "rb") as f:
        b = f.read()
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    out = {}
    for h in hdrs:
        name = b[stroff + h[0]:b.index(b"\0", stroff + h[0])].decode()
        out[name] = (h[3], h[4], h[5])
    return out, b


def note_segments(path):
    """The PT_NOTE segments' bytes of an ELF executable or library."""
    with open(path, "rb") as f:
        b = f.read()
    phoff, = struct.unpack_from("<Q", b, 0x20)
    phnum, = struct.unpack_from("<H", b, 0x38)
    out = []
    for i in range(phnum):
        p_type, _, off, _, _, filesz, _, _ = corefile.PHDR.unpack_from(b, phoff + i * 56)
        if p_type == corefile.PT_NOTE:
            out.append(b[off:off + filesz])
    return out


def compress(data, ext):
    if not shutil.which(COMPRESSORS[ext][0]):
        return None
    return subprocess.run(COMPRESSORS[ext] + ["-"], input=data, stdout=subprocess.PIPE, check=True).stdout


def trimmed(core, stack_bytes):
    """A core of a few tens of KiB: the notes, every mapping, and of the dumped memory only
    each thread's stack from its SP up (what the unwinder reads), the lock words' page of
    the executable's data, and the stack top where AT_EXECFN points."""
    keep = []
    for t in core.threads():
        sp = Core.regs(t)["rsp"]
        keep.append((sp - 256, sp + stack_bytes))
    files, _ = core.files()
    exe = [f for f in files if "/tests/out/bin/" in f[3]]
    for s, e, _, path in exe:
        l = core.load_at(s)
        if l and l.flags & corefile.PF_W:
            keep.append((s, e))
    for l in core.loads:
        if l.flags & corefile.PF_W and any(l.vaddr == e for _, e, _, _ in exe):
            keep.append((l.vaddr, l.vaddr + 4096))	# .bss right after the executable's data
    execfn = core.auxv().get(corefile.AT_EXECFN)
    if execfn:
        keep.append((execfn, execfn + 64))
    core.trim(keep)
    # gdb's target description (13 KiB of XML) is nothing chang reads
    core.notes = [n for n in core.notes if n.name != b"GDB"]
    return core.to_bytes(align=16)


def relative_paths(core):
    """NT_FILE paths under the checkout made relative to it, through /proc/self/cwd (chang
    takes only absolute paths for mapped files): the fuzz targets run in the checkout, so
    committed inputs find the same files wherever it is."""
    files, page = core.files()
    prefix = ROOT + "/"
    core.set_files([(s, e, o, "/proc/self/cwd/" + p[len(prefix):] if p.startswith(prefix) else p)
                    for s, e, o, p in files], page)
    return core


def nonzero(core):
    """The core with only its dumped pages that hold something: what a Go process's
    reserved and never-touched heap arenas leave is tens of MiB of zeros."""
    keep = []
    for l in core.loads:
        for o in range(0, len(l.data), 4096):
            if l.data[o:o + 4096].strip(b"\0"):
                keep.append((l.vaddr + o, l.vaddr + o + 4096))
    core.trim(keep)
    core.notes = [n for n in core.notes if n.name != b"GDB"]
    return core.to_bytes(align=16)


def chang_save_core(pid, path, full=False):
    r = subprocess.run([os.path.join(ROOT, "chang"), "attach", "--pid", str(pid), "--save-core", path,
                        "--format=json"] + (["--core-size=full"] if full else []),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    return r.returncode == 0 and os.path.exists(path)


def proc_texts(pid):
    out = {}
    for name in ("maps", "stat"):
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            out[name] = f.read()
    lines = []
    for tid in sorted(os.listdir("/proc/%d/task" % pid)):
        for name in ("syscall", "stat"):
            try:
                with open("/proc/%d/task/%s/%s" % (pid, tid, name), "rb") as f:
                    lines.append(f.read())
            except OSError:
                pass
    out["task-lines"] = b"".join(lines)
    return out


def real_c(d, seeds):
    """abba: a gcore core, a chang --save-core core, its /proc texts."""
    exe = harness.build("abba")
    with harness.Program(exe, threads=3) as p:
        p.wait_ready()
        texts = proc_texts(p.pid)
        gcore = p.gcore()
        mini = os.path.join(p.cwd, "mini.core")
        have_mini = chang_save_core(p.pid, mini)
        core = relative_paths(Core.read(gcore))
        small = trimmed(core, 4 << 10)
        put(d, "core", "abba-gcore-trimmed", small)
        put(d, "elfcore_notes", "abba-gcore-notes", b"".join(n.pack() for n in core.notes))
        if have_mini:
            mini_bytes = relative_paths(Core.read(mini)).to_bytes(align=16)
            if not seeds or len(mini_bytes) <= SEED_MAX:
                put(d, "core", "abba-chang-save-core", mini_bytes)
            put(d, "elfcore_notes", "abba-chang-save-core-notes",
                b"".join(n.pack() for n in Core.parse(mini_bytes).notes))
        for name, data in texts.items():
            put(d, "procfs", "abba-" + name, data)
        for ext in COMPRESSORS:
            c = compress(small, ext)
            if c and (not seeds or len(c) <= SEED_MAX):
                put(d, "decompress", "abba-core." + ext, c)
        if not seeds:
            put(d, "buildid", "abba-exe", open(exe, "rb").read())
    return exe


def real_buildids(d, seeds, exe):
    paths = [exe, "/usr/bin/sleep"]
    paths += [p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2") if os.path.exists(p)]
    for p in paths:
        for i, seg in enumerate(note_segments(os.path.realpath(p))):
            put(d, "buildid", "%s-note%d" % (os.path.basename(p), i), seg)


def compressed_debug(d, seeds, exe):
    """Separate debug files with compressed DWARF (zlib and zstd), as -dbg packages ship
    them: abba's in the seeds; at build time also a C++ program's and libc's own."""
    srcs = [exe]
    if not seeds:
        srcs.append(harness.build("inline_cpp", cxx=True))
    for src in srcs:
        for kind in ("zlib", "zstd"):
            out = os.path.join(d, "inflate.tmp")
            r = subprocess.run(["objcopy", "--only-keep-debug", "--compress-debug-sections=" + kind, src, out],
                               capture_output=True)
            if r.returncode == 0:
                put(d, "inflate", "%s-%s.debug" % (os.path.basename(src), kind), open(out, "rb").read())
            if os.path.exists(out):
                os.unlink(out)
    if not seeds:
        lib = "/lib/x86_64-linux-gnu/libc.so.6"
        note = note_segments(os.path.realpath(lib)) if os.path.exists(lib) else []
        for seg in note:
            if len(seg) >= 36 and seg[12:16] == b"GNU\0":
                bid = seg[16:36].hex()
                dbg = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
                if os.path.exists(dbg):
                    put(d, "inflate", "libc.debug", open(dbg, "rb").read())


def real_modules(d, seeds, exe):
    """ELF files as a core maps them: abba (C, with DWARF); at build time also C++ test
    programs (inline frames, mangled names), a stripped system binary and libc."""
    put(d, "module", "abba", open(exe, "rb").read())
    if seeds:
        return
    for name in ("an_cxx_mutex", "inline_cpp"):
        put(d, "module", name, open(harness.build(name, cxx=True), "rb").read())
    for p in ("/usr/bin/sleep", "/lib/x86_64-linux-gnu/libc.so.6"):
        if os.path.exists(p):
            put(d, "module", os.path.basename(p), open(os.path.realpath(p), "rb").read())


GO_PROGRAM = """package main

import (
	"fmt"
	"sync"
	"time"
)

var mu sync.Mutex
var ch = make(chan int)

//go:noinline
func waitLock(wg *sync.WaitGroup) {
	wg.Done()
	mu.Lock()
}

func main() {
	var wg sync.WaitGroup
	mu.Lock()
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go waitLock(&wg)
	}
	go func() { ch <- 1 }()
	go func() { time.Sleep(time.Hour) }()
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	fmt.Println("READY")
	select {}
}
"""


def real_go(d, workdir):
    """A small Go program: its executable (normal and stripped), its pclntab, a saved core."""
    go = shutil.which("go")
    if not go:
        print("gen_corpus: go not installed; no Go seeds from a real program", file=sys.stderr)
        return
    src = os.path.join(workdir, "gosrc")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "main.go"), "w") as f:
        f.write(GO_PROGRAM)
    env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOTOOLCHAIN="local",
               GOCACHE=os.path.join(harness.OUT, "gocache"), GOPATH=os.path.join(harness.OUT, "gopath"))
    bins = os.path.join(workdir, "bin")
    os.makedirs(bins, exist_ok=True)
    exe = os.path.join(bins, "gohang")
    # -trimpath: the same bytes wherever the checkout is, so that inputs saved from a run
    # (cores of this program) stay valid for the executable another checkout builds
    for out, extra in ((exe, []), (exe + ".stripped", ["-ldflags=-s -w"])):
        subprocess.run([go, "build", "-trimpath", "-o", out] + extra + ["."], cwd=src, env=env, check=True,
                       timeout=300, capture_output=True)
        put(d, "go_binary", os.path.basename(out), open(out, "rb").read())
    secs, b = elf_sections(exe)
    if ".gopclntab" in secs:
        addr, off, size = secs[".gopclntab"]
        put(d, "go_pclntab", "gohang", struct.pack("<I", size) + b[off:off + size] + b"\0" * 512)
    p = harness.Program(exe)
    try:
        p.wait_line("READY", timeout=20)
        # a full core: the default one lacks the runtime's globals (allglen, allgptr)
        full = os.path.join(p.cwd, "go.core")
        if chang_save_core(p.pid, full, full=True):
            put(d, "core", "gohang-chang-save-core", nonzero(relative_paths(Core.read(full))))
    finally:
        p.cleanup()


# ---- hand-made seeds ----

def go_table():
    """A Go 1.20+ pclntab (magic 0xfffffff1) as tests/unit/test_go_pclntab.c builds it:
    runtime.goexit and main.f0 (with main.inl inlined), their pcvalue tables and files,
    followed by memory that holds the inline tree at GOFUNC and a two-frame stack."""
    tab = bytearray(72)

    def add(b):
        at = len(tab)
        tab.extend(b)
        return at
    names = add(b"main.f0\0runtime.goexit\0main.inl\0")
    cutab = add(struct.pack("<II", 0, 6))
    files = add(b"/a.go\0/b.go\0")
    pctab = add(b"\0")
    offs = {}
    for k, v in (("f0sp", [2, 4, 16, 0x3C, 0]), ("f0ln", [22, 0x20, 2, 0x20, 0]), ("f0fl", [2, 0x40, 0]),
                 ("f0inl", [0, 0x10, 2, 8, 1, 0x28, 0]), ("f1sp", [2, 4, 32, 0x1C, 0]), ("f1ln", [42, 0x20, 0]),
                 ("f1fl", [4, 0x20, 0])):
        offs[k] = add(bytes(v)) - pctab
    while len(tab) % 8:
        tab.append(0)
    ftab = add(b"\0" * 24)
    f0 = add(b"\0" * (44 + 12 + 16))
    struct.pack_into("<IIIIIIIII", tab, f0, 0, 0, 0, 0, offs["f0sp"], offs["f0fl"], offs["f0ln"], 3, 0)
    tab[f0 + 41] = 1	# TOPFRAME
    tab[f0 + 43] = 4	# nfuncdata
    struct.pack_into("<IIIIIII", tab, f0 + 44, 0, 0, offs["f0inl"], 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    f1 = add(b"\0" * 44)
    struct.pack_into("<IIIIIIIII", tab, f1, 0x40, 8, 0, 0, offs["f1sp"], offs["f1fl"], offs["f1ln"], 0, 0)
    tab[f1 + 40] = 8	# funcID goexit
    struct.pack_into("<IIIIII", tab, ftab, 0, f0 - ftab, 0x40, f1 - ftab, 0x60, 0)
    struct.pack_into("<IBBBBQQQQQQQQ", tab, 0, 0xFFFFFFF1, 0, 0, 1, 8, 2, 0, TEXT, names, cutab, files, pctab, ftab)
    # at GOFUNC: inline tree entry 0 (funcID, nameOff of main.inl, parentPc 0x20); at STACK:
    # main.f1's 16-byte frame, whose return address lands in main.f0's inlined call
    mem = struct.pack("<BxxxiiI", 0, 23, 0x20, 0) + struct.pack("<Q", TEXT + 0x14) + b"\0" * 40
    return bytes(tab), mem


def go_elf(tab):
    """A minimal amd64 ELF executable with what go_is_go_binary and go_capture look for
    first: .text, .gopclntab (the table above), .go.buildinfo (go1.21.0), one PT_LOAD."""
    info = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16
    ver = b"go1.21.0"
    info += bytes([len(ver)]) + ver
    body = [(".text", b"\xcc" * 0x60, TEXT), (".gopclntab", tab, 0), (".go.buildinfo", info, 0)]
    shstr = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in body) + b".shstrtab\0"
    base, off, out, secs = 0x400000, 0x1000, bytearray(), []
    data = bytearray(b"\0" * 0x1000)
    for name, b, addr in body:
        off = len(data)
        addr = addr or base + off
        if name == ".text":
            data.extend(b"\0" * (TEXT - base - len(data)))
            off = len(data)
        data.extend(b)
        while len(data) % 16:
            data.append(0)
        secs.append((name, addr, off, len(b)))
    shstr_off = len(data)
    data.extend(shstr)
    while len(data) % 8:
        data.append(0)
    shoff = len(data)
    sh = bytearray(64)	# SHN_UNDEF
    for name, addr, off, size in secs:
        sh += struct.pack("<IIQQQQIIQQ", shstr.index(name.encode() + b"\0"), 1, 6, addr, off, size, 0, 0, 16, 0)
    sh += struct.pack("<IIQQQQIIQQ", shstr.index(b".shstrtab\0"), 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    data.extend(sh)
    eh = corefile.EHDR.pack(b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1, TEXT, 64, shoff, 0, 64, 56, 1, 64,
                            len(secs) + 2, len(secs) + 1)
    ph = corefile.PHDR.pack(corefile.PT_LOAD, 5, 0, base, base, shoff, shoff, 0x1000)
    data[0:len(eh)] = eh
    data[64:64 + len(ph)] = ph
    return bytes(data)


def cyclic_core(src):
    """The trimmed abba core with its first thread's stack turned into a frame-pointer loop:
    rbp points at a frame whose saved rbp is itself, rip in memory no module covers."""
    core = Core.parse(src)
    t = core.threads()[0]
    sp = Core.regs(t)["rsp"]
    frame = struct.pack("<QQQQ", sp + 16, sp + 0x100, sp, sp + 0x100)
    core.write_mem(sp, frame)
    Core.set_regs(t, rbp=sp, rip=sp + 0x100)
    return core.to_bytes(align=16)


PROCFS = [
    (b"maps-odd", b"00400000-00401000 r-xp 00000000 08:01 1234    /usr/bin/a b (deleted)\n"
     b"7f0000000000-7f0000001000 rw-s 00000000 00:05 99 /dev/zero (deleted)\n"
     b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
     b"00002000-00001000 r--p 00000000 00:00 0\n"),
    (b"stat-comm", b"4242 (a) b) (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 12 34 0 0 20 0 3 0\n"),
    (b"syscall-lines", b"202 0x7f0000001000 0x80 0x2 0x0 0x0 0x0 0x7ffd00000f00 0x7f00000012ab\n"
     b"-1 0x7ffd00000f00 0x401020\nrunning\n"),
    (b"tcp-lines", b"0100007F:1F90 00000000:0000 0A\n"
     b"00000000000000000000000001000000:0050 FE8000000000000000000000AB000000:C350\n"),
]


def seeds_dir(target):
    return os.path.join(HERE, "seeds", target)


def gen_seeds():
    """The committed seeds: real ones trimmed small, and hand-made ones."""
    tmp = os.path.join(harness.OUT, "fuzzseeds")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    exe = real_c(tmp, True)
    real_buildids(tmp, True, exe)
    real_modules(tmp, True, exe)
    compressed_debug(tmp, True, exe)
    with open(os.path.join(tmp, "core", "abba-gcore-trimmed"), "rb") as f:
        put(tmp, "core", "abba-cyclic-stack", cyclic_core(f.read()))
    tab, mem = go_table()
    put(tmp, "go_pclntab", "handmade", struct.pack("<I", len(tab)) + tab + mem)
    put(tmp, "go_binary", "handmade", go_elf(tab))
    for name, data in PROCFS:
        put(tmp, "procfs", name.decode(), data)
    for target in sorted(os.listdir(tmp)):
        for name in sorted(os.listdir(os.path.join(tmp, target))):
            p = os.path.join(tmp, target, name)
            size = os.path.getsize(p)
            if size > SEED_MAX:
                print("gen_corpus: %s/%s is %d bytes; not kept as a seed" % (target, name, size))
                continue
            os.makedirs(seeds_dir(target), exist_ok=True)
            shutil.copy(p, os.path.join(seeds_dir(target), name))
    shutil.rmtree(tmp, ignore_errors=True)


def gen_corpus(d):
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    exe = real_c(d, False)
    real_buildids(d, False, exe)
    real_modules(d, False, exe)
    compressed_debug(d, False, exe)
    real_go(d, d)


def main():
    if sys.argv[1:] == ["--seeds"]:
        gen_seeds()
    elif len(sys.argv) == 2:
        gen_corpus(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
