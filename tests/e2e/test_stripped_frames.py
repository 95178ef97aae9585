"""Frames without symbols still say where they are: stripped executables and libraries (with
their debug files kept aside to check the offsets), MiniDebugInfo made the way Fedora makes
it, Debian's stripped memcached live and from a core. Every frame names its module and the
offset into it, which `eu-stack -b` prints and `addr2line -e DEBUGFILE` resolves; names from
.dynsym and .gnu_debugdata are marked, a guess as near; the pprof profile is symbolized
afterwards by `go tool pprof` once the binaries are at hand."""
import os
import re
import shutil
import socket
import subprocess
import time

from harness import (OUT, PROGRAMS, Program, TestFailure, chang_json, check, run_chang, task_states)

LIB = "libchangstrip.so"
APP = "strip_app"


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise TestFailure("%s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr[-1500:]))
    return r.stdout


def build_full(d, pie=True):
    """The library and the executable (PIE unless told) with symbols and DWARF, in d/full;
    -fno-toplevel-reorder keeps strip_lib.c's functions in its order (the near guess
    depends on it)."""
    full = os.path.join(d, "full")
    os.makedirs(full)
    sh(["gcc", "-O1", "-g", "-fPIC", "-shared", "-fno-toplevel-reorder", "-o", os.path.join(full, LIB),
        os.path.join(PROGRAMS, "strip_lib.c")])
    sh(["gcc", "-O1", "-g", "-pthread", "-D_GNU_SOURCE", "-fno-toplevel-reorder", "-I", PROGRAMS, "-o",
        os.path.join(full, APP), os.path.join(PROGRAMS, "strip_app.c"), "-L", full, "-lchangstrip",
        "-Wl,-rpath,$ORIGIN"] + ([] if pie else ["-no-pie"]))
    return full


def stripped_set(d, mini=False, pie=True):
    """d/stripped (or d/mini): both files stripped with --strip-all, their debug files in
    d/debug, away from where elfutils looks; with mini, a MiniDebugInfo section each."""
    shutil.rmtree(d, ignore_errors=True)
    full = build_full(d, pie)
    out = os.path.join(d, "mini" if mini else "stripped")
    dbg = os.path.join(d, "debug")
    os.makedirs(out)
    os.makedirs(dbg)
    for name in (LIB, APP):
        src = os.path.join(full, name)
        sh(["objcopy", "--only-keep-debug", src, os.path.join(dbg, name + ".debug")])
        sh(["strip", "--strip-all", "-o", os.path.join(out, name), src])
        if mini:
            add_minidebuginfo(src, os.path.join(out, name), d)
    os.chmod(os.path.join(out, APP), 0o755)
    return full, out, dbg


def add_minidebuginfo(src, stripped, d):
    """The MiniDebugInfo recipe (Fedora's find-debuginfo): the function symbols that .dynsym
    lacks, in an otherwise empty ELF, xz-compressed into .gnu_debugdata."""
    base = os.path.join(d, os.path.basename(src))
    dyn = set(l.split()[0] for l in sh(["nm", "-D", "--format=posix", "--defined-only", src]).splitlines() if l)
    funcs = [l.split()[0] for l in sh(["nm", "--format=posix", "--defined-only", src]).splitlines()
             if l and l.split()[1] in ("T", "t")]
    with open(base + ".keep", "w") as f:
        f.write("".join(n + "\n" for n in sorted(set(funcs) - dyn)))
    sh(["objcopy", "--only-keep-debug", src, base + ".dbg"])
    sh(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
        "--keep-symbols=" + base + ".keep", base + ".dbg", base + ".mini"])
    if os.path.exists(base + ".mini.xz"):
        os.unlink(base + ".mini.xz")
    sh(["xz", base + ".mini"])
    sh(["objcopy", "--add-section", ".gnu_debugdata=" + base + ".mini.xz", stripped])


EU_FRAME = re.compile(r"^#(\d+)\s+0x([0-9a-f]+)")
EU_MODULE = re.compile(r"^\s+\[([0-9a-f]*)\]@0x([0-9a-f]+)\+0x([0-9a-f]+)$")


def eu_stack(pid):
    """eu-stack -b: {tid: [(pc, build-id, offset from the module's load address)]}."""
    r = subprocess.run(["eu-stack", "-b", "-p", str(pid)], capture_output=True, text=True, timeout=60)
    out, tid, pc = {}, None, None
    for line in r.stdout.splitlines():
        m = re.match(r"^TID (\d+):", line)
        if m:
            tid = int(m.group(1))
            out[tid] = []
            continue
        m = EU_FRAME.match(line)
        if m:
            pc = int(m.group(2), 16)
            out[tid].append((pc, None, None))
            continue
        m = EU_MODULE.match(line)
        if m and tid is not None and out[tid]:
            out[tid][-1] = (pc, m.group(1), int(m.group(3), 16))
    check(out, "eu-stack printed no threads: %s" % r.stderr[-500:])
    return out


def physical(thread):
    """One frame per PC (the physical one: inlined callees come first)."""
    out = []
    for f in thread["frames"]:
        if out and out[-1]["pc"] == f["pc"]:
            out[-1] = f
        else:
            out.append(f)
    return out


def module_ids(rep):
    return {m["name"]: m["build_id"] for m in rep["modules"]}


def check_where(rep, what):
    """No frame without its module and offset (every PC here is in a mapped file)."""
    for t in rep["threads"]:
        for f in t["frames"]:
            check(f["module"] and f["module_offset"], "%s: frame without its module: %r" % (what, f))


def check_against_eu_stack(rep, eu, what):
    """chang's (build-id, offset) for each PC of each thread is eu-stack -b's."""
    ids = module_ids(rep)
    for t in rep["threads"]:
        mine = [(int(f["pc"], 16), ids[f["module"]], int(f["module_offset"], 16)) for f in physical(t)]
        theirs = eu.get(t["tid"])
        check(theirs is not None, "%s: eu-stack has no thread %d" % (what, t["tid"]))
        # eu-stack may stop a frame earlier or later at the outermost end
        n = min(len(mine), len(theirs))
        check(n >= 3 and mine[:n] == theirs[:n], "%s: thread %d differs from eu-stack -b:\nchang %r\neu-stack %r" %
              (what, t["tid"], mine, theirs))


def addr2line(debug_file, offset):
    return sh(["addr2line", "-f", "-e", debug_file, "0x%x" % offset]).splitlines()[0]


def frames_in(rep, module_suffix):
    return [f for t in rep["threads"] for f in physical(t) if f["module"].endswith(module_suffix)]


def test_stripped_module_offsets():
    """Stripped library and PIE executable, live and from a gcore core: every frame names its
    module and offset; the offsets are eu-stack -b's, and addr2line on the debug file kept
    aside resolves them to the functions; .dynsym names the exported function, marks the
    static one's guess as near, and names nothing in the executable."""
    d = os.path.join(OUT, "stripped-frames")
    full, out, dbg = stripped_set(d)
    with Program(os.path.join(out, APP), threads=2) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        text = run_chang(["attach", "--pid", str(p.pid)]).stdout
        gor = run_chang(["attach", "--pid", str(p.pid), "--format=goroutine"]).stdout
        eu = eu_stack(p.pid)
        # what the header tells to do: the debug files by build-id in a directory given
        byid = os.path.join(d, "byid")
        for m in rep["modules"]:
            if m["name"].startswith(out + "/"):
                bdir = os.path.join(byid, ".build-id", m["build_id"][:2])
                os.makedirs(bdir, exist_ok=True)
                shutil.copy(os.path.join(dbg, os.path.basename(m["name"]) + ".debug"),
                            os.path.join(bdir, m["build_id"][2:] + ".debug"))
        named = chang_json(["attach", "--pid", str(p.pid), "--debuginfo-path=" + byid])
        core = p.gcore()
        p.untouched()
        # the program's directory, and the core in it, go when it ends
        crep = chang_json(["core", os.path.join(out, APP), core])
        os.unlink(core)
    check_where(rep, "live")
    check_against_eu_stack(rep, eu, "live")
    lib = frames_in(rep, "/" + LIB)
    app = frames_in(rep, "/" + APP)
    check(len(lib) == 4 and len(app) >= 4, "frames in the library %r and the executable %r" % (lib, app))
    # (function, near_symbol): the static function only guessed, never named
    want = {"lib_block_inner": (None, "lib_first"), "lib_wait_outer": ("lib_wait_outer", None)}
    for f in lib:
        real = addr2line(os.path.join(dbg, LIB + ".debug"), int(f["module_offset"], 16))
        check(real in want, "addr2line names %s at %s+%s" % (real, LIB, f["module_offset"]))
        check((f["function"], f["near_symbol"]) == want[real] and f["symbol_source"] == "dynsym",
              "%s: chang says %r" % (real, f))
    for f in app:
        real = addr2line(os.path.join(dbg, APP + ".debug"), int(f["module_offset"], 16))
        check(real in ("app_block", "app_worker", "main", "_start"), "addr2line names %s in the executable" % real)
        check(f["function"] is None and f["symbol_source"] is None, "a stripped executable's .dynsym named %r" % f)
    check(rep["symbols"]["unnamed"] >= len(app) and rep["symbols"]["near"] == 2, "counts: %r" % rep["symbols"])
    paths = rep["symbols"]["modules_without_symbols"]
    check(os.path.join(out, APP) in paths and os.path.join(out, LIB) in paths, "modules without symbols: %r" % paths)

    check(named["symbols"]["unnamed"] == 0 and not named["symbols"]["modules_without_symbols"] and
          {"lib_block_inner", "app_block"} <= set(f["function"] for t in named["threads"] for f in t["frames"]),
          "with the debug files by build-id: %r" % named["symbols"])
    inner = [f for f in lib if f["near_symbol"]][0]
    check("[near lib_first, .dynsym] %s+%s" % (LIB, inner["module_offset"]) in text, "text report:\n" + text)
    check("no symbols: %s (" % os.path.join(out, LIB) in text and "--debuginfo-path=DIR" in text,
          "text header names the library and what to do:\n" + text[:1500])
    check(re.search(r"^symbols: \d+ of \d+ frames without a function name", text, re.M), "text header count")
    blocked = [f for f in app if addr2line(os.path.join(dbg, APP + ".debug"), int(f["module_offset"], 16)) == "app_block"][0]
    check(re.search(r"^#\t0x[0-9a-f]+\t%s\+%s\t+\?:0$" % (APP, blocked["module_offset"]), gor, re.M),
          "goroutine format names the place in the function column:\n" + gor)

    check_where(crep, "core")
    live = {t["tid"]: [(f["module"], f["module_offset"], f["function"]) for f in physical(t)] for t in rep["threads"]}
    for t in crep["threads"]:
        got = [(f["module"], f["module_offset"], f["function"]) for f in physical(t)]
        check(got == live.get(t["tid"]), "core thread %d: %r, live %r" % (t["tid"], got, live.get(t["tid"])))


test_stripped_module_offsets.timeout = 180


def test_non_pie_offsets():
    """A non-PIE executable: the offset is still eu-stack -b's, from the load address
    (0x400000); addr2line takes the absolute address there, load address plus offset."""
    d = os.path.join(OUT, "stripped-nopie")
    full, out, dbg = stripped_set(d, pie=False)
    with Program(os.path.join(out, APP), threads=2) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        eu = eu_stack(p.pid)
        p.untouched()
    check_where(rep, "non-PIE")
    check_against_eu_stack(rep, eu, "non-PIE")
    exe = [m for m in rep["modules"] if m["name"] == os.path.join(out, APP)][0]
    check(int(exe["start"], 16) == 0x400000, "non-PIE load address: %r" % exe)
    names = set()
    for f in frames_in(rep, "/" + APP):
        off = int(f["module_offset"], 16)
        names.add(addr2line(os.path.join(dbg, APP + ".debug"), 0x400000 + off))
        check(addr2line(os.path.join(dbg, APP + ".debug"), off) == "??", "the bare offset resolved in a non-PIE")
    check({"app_block", "app_worker", "main"} <= names, "addr2line at load address + offset: %r" % names)


def test_minidebuginfo_names():
    """A .gnu_debugdata section names the static functions exactly, marked as from it."""
    d = os.path.join(OUT, "stripped-mini")
    full, out, dbg = stripped_set(d, mini=True)
    with Program(os.path.join(out, APP), threads=2) as p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        text = run_chang(["attach", "--pid", str(p.pid)]).stdout
        p.untouched()
    check_where(rep, "minidebuginfo")
    for f in frames_in(rep, "/" + LIB) + frames_in(rep, "/" + APP):
        real = addr2line(os.path.join(dbg, os.path.basename(f["module"]) + ".debug"), int(f["module_offset"], 16))
        if real == "_start":
            continue	# not a function symbol the recipe keeps
        src = "dynsym" if real == "lib_wait_outer" else "minidebuginfo"
        check(f["function"] == real and not f["near_symbol"] and f["symbol_source"] == src,
              "%s: chang says %r" % (real, f))
    check("[.gnu_debugdata] app_block+0x" in text, "text marks MiniDebugInfo names:\n" + text)
    mods = {m["name"]: m for m in rep["modules"]}
    check(mods[os.path.join(out, LIB)]["symbols"] == "minidebuginfo", "module symbols kind: %r" % mods)


def test_pprof_symbolized_later():
    """The profile of stripped binaries keeps .dynsym's exact names, leaves the rest to be
    symbolized, and `go tool pprof` names them once the binaries with symbols are at the
    mapped paths (Go's pprof reads the file's own DWARF; it ignores debug links)."""
    if not shutil.which("go"):
        return "skip: go is not installed (tests/install-deps.sh installs Debian's golang-go)"
    d = os.path.join(OUT, "stripped-pprof")
    full, out, dbg = stripped_set(d)
    prof = os.path.join(d, "threads.pb.gz")
    with Program(os.path.join(out, APP), threads=2) as p:
        p.wait_ready()
        run_chang(["attach", "--pid", str(p.pid), "--format=pprof", "-o", prof])
        p.untouched()

    def pprof(*args):
        return sh(["go", "tool", "pprof"] + list(args) + [prof], stdin=subprocess.DEVNULL, timeout=120)

    raw = pprof("-raw")
    maps = [l for l in raw[raw.index("Mappings"):].splitlines() if out in l]
    check(len(maps) == 2 and not any("[FN]" in l for l in maps), "mappings left to symbolize: %r" % maps)
    before = pprof("-traces")
    check("lib_wait_outer" in before and "lib_block_inner" not in before and "[%s]" % LIB in before,
          "before: .dynsym's exact name kept, the guess left out:\n" + before)
    for name in (LIB, APP):
        shutil.copy(os.path.join(full, name), os.path.join(out, name))
    after = pprof("-traces")
    for fn in ("lib_block_inner", "lib_wait_outer", "app_block", "app_worker"):
        check(fn in after, "go tool pprof did not name %s with the binaries at hand:\n%s" % (fn, after))


test_pprof_symbolized_later.timeout = 240


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_memcached_without_debug_info():
    """Debian's memcached (stripped, no -dbgsym) with libevent: live and from a gcore core,
    every frame names its module and the offset eu-stack -b gives; the header names the
    modules lacking symbols with their build-id and -dbgsym package."""
    exe = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(exe):
        return "skip: memcached is not installed (tests/install-deps.sh installs it, best effort)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "2", "-m", "8"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    with Program(exe, args) as p:
        deadline = time.monotonic() + 20
        while not listening(port):
            check(p.proc.poll() is None, "memcached exited %s" % p.proc.returncode)
            check(time.monotonic() < deadline, "memcached did not listen on 127.0.0.1:%d" % port)
            time.sleep(0.01)
        # its threads start before the listener; they then sleep in epoll and condvars
        while not all(st in "SD" for st in task_states(p.pid).values()):
            check(time.monotonic() < deadline, "memcached's threads did not settle: %r" % task_states(p.pid))
            time.sleep(0.01)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        text = run_chang(["attach", "--pid", str(p.pid)]).stdout
        eu = eu_stack(p.pid)
        core = p.gcore()
        crep = chang_json(["core", exe, core])
        os.unlink(core)
    check_where(rep, "memcached")
    check_against_eu_stack(rep, eu, "memcached")
    mods = {m["name"]: m for m in rep["modules"]}
    me = [m for m in mods.values() if m["name"].endswith("/memcached")][0]
    check(me["symbols"] in ("dynsym", "none"), "memcached carries symbols here: %r" % me)
    check(me["name"] in rep["symbols"]["modules_without_symbols"], "header: %r" % rep["symbols"])
    own = frames_in(rep, "/memcached")
    check(own and all(f["function"] is None for f in own), "memcached's own frames: %r" % own)
    check(re.search(r"no symbols: %s \(\d+ frames; [^)]*\) build-id %s" % (re.escape(me["name"]), me["build_id"]),
                    text), "text header:\n" + text[:1500])
    if me["package"]:
        check(me["debug_package"] == me["package"] + "-dbgsym" and
              "Debian package %s-dbgsym" % me["package"] in text, "package: %r" % me)
    check_where(crep, "memcached core")
    live = {t["tid"]: [(f["module"], f["module_offset"]) for f in physical(t)] for t in rep["threads"]}
    for t in crep["threads"]:
        got = [(f["module"], f["module_offset"]) for f in physical(t)]
        check(got == live.get(t["tid"]), "core thread %d: %r, live %r" % (t["tid"], got, live.get(t["tid"])))


test_memcached_without_debug_info.timeout = 180
