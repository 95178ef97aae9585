"""eu-stack as an oracle for chang's stacks: run it on a core, parse its per-thread frames,
and compare with a chang JSON report thread by thread (return addresses and function names,
inline frames aside: eu-stack without -i does not show them)."""
import os
import re
import subprocess

FRAME = re.compile(r"^#(\d+)\s+0x([0-9a-f]+)(?:\s+(\S+))?")


def eu_stack(core, exe=None, cwd=None, timeout=60):
    """{tid: [(pc, function or None)]} from eu-stack --core (its own errors ignored: it
    prints one for every walk it cannot finish, the normal end of most)."""
    cmd = ["eu-stack", "--core=" + core]
    if exe:
        cmd += ["-e", exe]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    stacks, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("TID "):
            cur = stacks.setdefault(int(line[4:].rstrip(":")), [])
            continue
        m = FRAME.match(line)
        if m and cur is not None:
            fn = m.group(3)
            cur.append((int(m.group(2), 16), None if fn in (None, "-") else fn))
    return stacks


def chang_stacks(rep):
    """{tid: [(pc, function or None)]} from a chang JSON report, inline frames folded into
    their physical frame as eu-stack shows them (the outermost name of each PC). Names in
    shared libraries are left out (None): glibc names one address many ways (aliases,
    versioned symbols, DWARF's name), and eu-stack and chang pick different ones."""
    out = {}
    for t in rep["threads"]:
        frames = []
        for f in t["frames"]:
            pc = int(f["pc"], 16)
            fn = None if ".so" in os.path.basename(f["module"] or "") else f["function"]
            if frames and frames[-1][0] == pc:
                frames[-1] = (pc, fn)  # the physical frame comes last
            else:
                frames.append((pc, fn))
        out[t["tid"]] = frames
    return out


def plain(name):
    """A function's name without what its symbol adds and DWARF's name does not: C++
    parameters ("customer(int)") and GCC's clone suffixes ("queue_pop.constprop.0.isra.0")."""
    return name.split("(")[0].split(".")[0]


def differences(eu, ch, names=True, eu_may_stop_early=False):
    """Per-thread differences, as text lines; [] when the stacks agree. With
    eu_may_stop_early, eu-stack's stack may be a prefix of chang's (eu-stack 0.188 cannot
    find a PIE executable without NT_FILE, which chang finds through AUXV)."""
    out = []
    for tid in sorted(set(eu) | set(ch)):
        a, b = eu.get(tid), ch.get(tid)
        if a is None or b is None:
            out.append("thread %d only in %s" % (tid, "chang" if a is None else "eu-stack"))
            continue
        for i, (x, y) in enumerate(zip(a, b)):
            if x[0] != y[0]:
                out.append("thread %d frame %d: eu-stack 0x%x, chang 0x%x" % (tid, i, x[0], y[0]))
                break
            if names and x[1] and y[1] and plain(x[1]) != plain(y[1]):
                out.append("thread %d frame %d (0x%x): eu-stack %s, chang %s" % (tid, i, x[0], x[1], y[1]))
        if len(a) != len(b) and not (eu_may_stop_early and len(a) < len(b)):
            out.append("thread %d: eu-stack %d frames, chang %d" % (tid, len(a), len(b)))
    return out
