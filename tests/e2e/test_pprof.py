"""chang's pprof and goroutine-text outputs read by the real client, `go tool pprof`, on
hung programs live and from gcore cores: -raw, -top, -traces, -tags, -tagfocus, -comments,
the -http flame graph, -base diffs, -o DIR; and the goroutine text against the grammar of
Go's own goroutine?debug=1 files (tests/fixtures/go/*/goroutine.debug1.txt).

The subject is the client's reading of chang's bytes, so the ASan pass is left out: the
writers run under ASan in the unit tests (test_pprof, test_debug1)."""
import calendar
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import (OUT, ROOT, Program, TestFailure, build, chang_json, check, run_chang,
                     task_states)

RUN_UNDER_ASAN = False

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "go")
NO_GO = "skip: go is not installed (tests/install-deps.sh installs Debian's golang-go)"


def go_bin():
    return shutil.which("go")


def pprof(*args, timeout=60):
    cmd = [go_bin(), "tool", "pprof"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    check(r.returncode == 0, "%s exited %d:\n%s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return r.stdout


@contextlib.contextmanager
def scratch(name):
    """A directory for one test's files: removed when the test passes, kept when it fails."""
    d = os.path.join(OUT, "pprof", "%s-%d" % (name, time.monotonic_ns()))
    os.makedirs(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_profile(src, path):
    """chang ... --format=pprof -o path; returns the path."""
    run_chang(src + ["--format=pprof", "-o", path])
    with open(path, "rb") as f:
        magic = f.read(2)
    check(magic == b"\x1f\x8b", "%s is not gzip (starts %r)" % (path, magic))
    return path


# ---------------------------------------------------------------------------------------
# Readers of go tool pprof's text outputs

RAW_SAMPLE = re.compile(r"^\s+(-?\d+): ((?:\d+ )*)$")


def raw_samples(text):
    """-raw: (sample type line, [(value, [location ids])])."""
    lines = text.splitlines()
    check("Samples:" in lines, "-raw printed no Samples section:\n" + text[:2000])
    i = lines.index("Samples:") + 1
    stype = lines[i].strip()
    samples = []
    for line in lines[i + 1:]:
        if line.startswith("Locations"):
            break
        m = RAW_SAMPLE.match(line)
        if m:
            samples.append((int(m.group(1)), [int(x) for x in m.group(2).split()]))
    check("Locations" in lines, "-raw printed no Locations section")
    return stype, samples


TOP_ROW = re.compile(r"^\s*(-?[\d.]+)\s+-?[\d.]+%\s+-?[\d.]+%\s+(-?[\d.]+)\s+-?[\d.]+%\s+(.+)$")
TOP_HEAD = re.compile(r"Showing nodes accounting for (-?[\d.]+), -?[\d.]+% of (-?[\d.]+) total")


def top_rows(text):
    """-top: (shown, total, [(flat, cum, name)])."""
    m = TOP_HEAD.search(text)
    check(m, "-top printed no 'Showing nodes' line:\n" + text[:2000])
    body = text[text.index("flat  flat%"):].splitlines()[1:] if "flat  flat%" in text else []
    rows = []
    for line in body:
        r = TOP_ROW.match(line)
        check(r, "unexpected -top row %r" % line)
        rows.append((float(r.group(1)), float(r.group(2)), r.group(3)))
    return float(m.group(1)), float(m.group(2)), rows


TRACE_LABEL = re.compile(r"^\s*([\w.]+):  (.*)$")
TRACE_COUNT = re.compile(r"^\s*(\d+)\s+(\S.*)$")


def traces(text):
    """-traces: [(count, {label: [values]}, [frames, innermost first])]."""
    out = []
    blocks = re.split(r"^-+\+-+$", text, flags=re.M)[1:]
    for b in blocks:
        labels, frames, count = {}, [], None
        for line in b.splitlines():
            if not line.strip():
                continue
            if count is None:
                m = TRACE_LABEL.match(line)
                if m:
                    labels.setdefault(m.group(1), []).append(m.group(2).strip())
                    continue
                m = TRACE_COUNT.match(line)
                check(m, "unexpected -traces line %r" % line)
                count = int(m.group(1))
                frames.append(m.group(2).strip())
            else:
                frames.append(line.strip())
        if count is not None:
            out.append((count, labels, frames))
    return out


def tags(text):
    """-tags: {key: (total, {value: count})}."""
    out = {}
    key = None
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+): Total (-?[\d.]+)$", line)
        if m:
            key = m.group(1)
            out[key] = (float(m.group(2)), {})
            continue
        m = re.match(r"^\s*(-?[\d.]+) \(\s*[\d.]+%\): (.*)$", line)
        if m and key:
            out[key][1][m.group(2)] = float(m.group(1))
    return out


def frame_at(frame, func, file_suffix, line):
    """A -traces/-top frame 'func path/file.c:N [(inline)]'."""
    m = re.match(r"^(.*) (\S+):(\d+)(?: \(inline\))?$", frame)
    return bool(m) and m.group(1) == func and m.group(2).endswith(file_suffix) and int(m.group(3)) == line


# ---------------------------------------------------------------------------------------
# The -http flame graph

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flamegraph_page(profile, deadline_s=20.0):
    """Serve the profile with go tool pprof -http on a free loopback port, fetch
    /ui/flamegraph, stop the server; returns the page's text."""
    for attempt in range(3):
        port = free_port()
        log = profile + ".http.log"
        with open(log, "w") as lf:
            srv = subprocess.Popen([go_bin(), "tool", "pprof", "-no_browser", "-http=127.0.0.1:%d" % port, profile],
                                   stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            url = "http://127.0.0.1:%d/ui/flamegraph" % port
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                if srv.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        check(resp.status == 200, "%s answered %d" % (url, resp.status))
                        return resp.read().decode("utf-8", "replace")
                except (urllib.error.URLError, ConnectionError, socket.timeout):
                    time.sleep(0.05)
            with open(log) as lf:
                msg = lf.read()
            if srv.poll() is not None and "address already in use" in msg and attempt < 2:
                continue	# someone took the port between free_port() and pprof's bind
            raise TestFailure("pprof -http did not serve %s within %.0fs (exit %r):\n%s"
                              % (url, deadline_s, srv.poll(), msg[-2000:]))
        finally:
            if srv.poll() is None:
                try:
                    os.killpg(srv.pid, signal.SIGTERM)
                    srv.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(srv.pid, signal.SIGKILL)
                    srv.wait()
                except ProcessLookupError:
                    pass
    raise TestFailure("pprof -http: no free port")


# ---------------------------------------------------------------------------------------
# Go's goroutine?debug=1 grammar

HEADER = re.compile(r"^(goroutine|threads) profile: total (\d+)$")
GROUP = re.compile(r"^(\d+) @((?: 0x[0-9a-f]+)+)$")
LABELS = re.compile(r"^# labels: (\{.*\})$")
FRAME = re.compile(r"^#\t+(0x[0-9a-f]+)\t+([^\t]+)\+(0x[0-9a-f]+)\t+([^\t]+):(\d+)$")
UNKNOWN = re.compile(r"^#\t+(0x[0-9a-f]+)$")


def go_tabwriter(rows, minwidth=1, tabwidth=8, padding=1):
    """Go's text/tabwriter.NewWriter(w, minwidth, tabwidth, padding, '\\t', 0), as
    printCountProfile uses it, on lines given as lists of cells (the last cell of a line is
    the text after its last tab and belongs to no column). Returns the lines."""
    out = [None] * len(rows)
    widths = []

    def pad(textw, cellw):
        cellw = (cellw + tabwidth - 1) // tabwidth * tabwidth
        return "\t" * ((cellw - textw + tabwidth - 1) // tabwidth)

    def write_lines(l0, l1):
        for i in range(l0, l1):
            s = []
            for j, c in enumerate(rows[i]):
                s.append(c)
                if j < len(widths):
                    s.append(pad(len(c), widths[j]))
            out[i] = "".join(s)

    def fmt(line0, line1):
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(rows[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(rows[this]) - 1:
                width = max(width, len(rows[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
            this += 1	# Go's loop steps past the line that ended the block
        write_lines(line0, line1)

    fmt(0, len(rows))
    return out


def check_goroutine_text(data, what):
    """Checks bytes against Go's goroutine?debug=1 grammar; returns
    (kind, total, [(count, [pcs], labels, [(pc, func, off, file, line) or (pc,)])])."""
    check(isinstance(data, bytes), "want bytes")
    # Go counts a cell's width in runes, an invalid byte as one
    text = data.decode("utf-8", "surrogateescape")
    check(text.endswith("\n\n"), "%s: must end with a group's blank line" % what)
    lines = text[:-1].split("\n")

    def fail(i, msg):
        raise TestFailure("%s line %d: %s: %r" % (what, i + 1, msg, lines[i] if i < len(lines) else None))

    m = HEADER.match(lines[0])
    if not m:
        fail(0, "not a 'NAME profile: total N' header")
    kind, total = m.group(1), int(m.group(2))
    groups = []
    i = 1
    while i < len(lines):
        g = GROUP.match(lines[i])
        if not g:
            fail(i, "want 'COUNT @ 0x...'")
        count, pcs = int(g.group(1)), [int(x, 16) for x in g.group(2).split()]
        if count < 1:
            fail(i, "empty group")
        i += 1
        labels = None
        if i < len(lines) and lines[i].startswith("# labels"):
            lm = LABELS.match(lines[i])
            if not lm:
                fail(i, "bad labels line")
            labels = lm.group(1)
            i += 1
        frames = []
        while i < len(lines) and lines[i] != "":
            f = FRAME.match(lines[i])
            u = UNKNOWN.match(lines[i])
            if f:
                frames.append((int(f.group(1), 16), f.group(2), int(f.group(3), 16), f.group(4), int(f.group(5))))
            elif u:
                frames.append((int(u.group(1), 16),))
            else:
                fail(i, "want '#\\t0xPC\\tFUNC+0xOFF\\tFILE:LINE' or '#\\t0xPC'")
            i += 1
        if not frames:
            fail(i, "group without frame lines")
        if i >= len(lines):
            fail(i - 1, "group not ended by a blank line")
        i += 1	# the blank line
        # Each frame line is one of the group's PCs (a return address less one), in order;
        # the leading frames Go hides may be missing, never reordered.
        k = 0
        for fr in frames:
            while k < len(pcs) and fr[0] not in (pcs[k], pcs[k] - 1):
                k += 1
            if k == len(pcs):
                raise TestFailure("%s: frame pc %#x is not one of its group's PCs, in order (%s)"
                                  % (what, fr[0], " ".join("%#x" % p for p in pcs)))
        groups.append((count, pcs, labels, frames))
    check(sum(g[0] for g in groups) == total,
          "%s: groups add up to %d, header says total %d" % (what, sum(g[0] for g in groups), total))
    # printCountProfile's keysByCount: larger count first, then the key text ("@ 0x.. 0x..",
    # plus "\n# labels: ..." when labelled) in byte order
    def key(g):
        k = "@" + "".join(" %#x" % p for p in g[1])
        return (-g[0], k + ("\n# labels: " + g[2] if g[2] is not None else ""))
    keys = [key(g) for g in groups]
    for a in range(1, len(keys)):
        if keys[a] < keys[a - 1]:
            raise TestFailure("%s: groups out of Go's order: %r before %r" % (what, keys[a - 1], keys[a]))
    # Go's tabwriter padding, byte for byte: re-lay the cells out and compare
    cells = [re.split("\t+", l) for l in lines]
    want = go_tabwriter(cells)
    for n, (got, exp) in enumerate(zip(lines, want)):
        if got != exp:
            raise TestFailure("%s line %d: padding differs from Go's tabwriter:\n got  %r\n want %r"
                              % (what, n + 1, got, exp))
    return kind, total, groups


def fixture_files():
    return sorted(glob.glob(os.path.join(FIXTURES, "*", "goroutine.debug1.txt")) +
                  glob.glob(os.path.join(FIXTURES, "*", "go1.*", "goroutine.debug1.txt")))


def rejected(data):
    try:
        check_goroutine_text(data, "mutant")
    except TestFailure:
        return True
    return False


def test_goroutine_grammar_fixtures():
    """The grammar checker accepts every one of Go's own debug=1 files and rejects their
    mutants: so what it says of chang's output means something."""
    files = fixture_files()
    if not files:
        return "skip: no Go fixtures under %s" % FIXTURES
    check(len(files) >= 3, "fixtures: %r" % files)
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        kind, total, groups = check_goroutine_text(data, path)
        check(kind == "goroutine" and total > 0 and len(groups) > 1, "%s parsed as %s %d" % (path, kind, total))
    with open(os.path.join(FIXTURES, "mixed", "goroutine.debug1.txt"), "rb") as f:
        good = f.read()
    lines = good.split(b"\n")
    padded = [n for n, l in enumerate(lines) if b"\t\t" in l]
    check(padded, "fixture without padding")
    mutants = {}
    # one padding tab short
    l = list(lines)
    l[padded[0]] = l[padded[0]].replace(b"\t\t", b"\t", 1)
    mutants["padding"] = l
    # one padding tab too many on a line that has none to spare
    l = list(lines)
    n = next(n for n, x in enumerate(lines) if x.startswith(b"#\t") and b"\t\t" not in x and x.count(b"\t") == 3)
    l[n] = l[n].replace(b"\t", b"\t\t", 1)
    mutants["extra tab"] = l
    # the first two groups swapped
    blocks = good.split(b"\n\n")
    mutants["order"] = b"\n\n".join([blocks[0].split(b"\n", 1)[0] + b"\n" + blocks[1],
                                     blocks[0].split(b"\n", 1)[1]] + blocks[2:]).split(b"\n")
    # the total off by one
    l = list(lines)
    l[0] = re.sub(rb"\d+$", lambda m: b"%d" % (int(m.group(0)) + 1), l[0])
    mutants["total"] = l
    # a group's blank line missing
    l = list(lines)
    del l[lines.index(b"", 1)]
    mutants["blank"] = l
    # a frame's offset missing
    l = list(lines)
    n = next(n for n, x in enumerate(lines) if re.match(rb"^#\t0x", x))
    l[n] = re.sub(rb"\+0x[0-9a-f]+", b"", l[n])
    mutants["offset"] = l
    for name, l in mutants.items():
        check(rejected(b"\n".join(l)), "checker accepts the %r mutant" % name)


# ---------------------------------------------------------------------------------------
# The checks shared by the scenarios

def goroutine_text_checks(src, nthreads, want_frames, what, d):
    """chang --format=goroutine: Go's grammar, the right total, go tool pprof -raw reads it as a
    legacy count profile with the same total. want_frames: (func, file suffix, line)."""
    r = subprocess.run([os.environ.get("CHANG_BIN", os.path.join(ROOT, "chang"))] + src + ["--format=goroutine"],
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "chang --format=goroutine exited %d: %s" % (r.returncode, r.stderr[-1000:]))
    kind, total, groups = check_goroutine_text(r.stdout, what + " goroutine text")
    check(kind == "threads" and total == nthreads, "%s: header %s total %d, want threads %d" % (what, kind, total, nthreads))
    named = {(f[1], f[3], f[4]) for g in groups for f in g[3] if len(f) > 1}
    for func, suffix, line in want_frames:
        check(any(n[0] == func and n[1].endswith(suffix) and n[2] == line for n in named),
              "%s: no frame %s %s:%d in the goroutine text: %r" % (what, func, suffix, line, sorted(named)))
    path = os.path.join(d, what.replace(" ", "-") + ".threads.txt")
    with open(path, "wb") as f:
        f.write(r.stdout)
    stype, samples = raw_samples(pprof("-raw", path))
    check(stype == "threads/count", "%s: legacy profile sample type %r" % (what, stype))
    check(sum(v for v, _ in samples) == nthreads and len(samples) == len(groups),
          "%s: pprof read %r from the goroutine text, want %d groups totalling %d"
          % (what, [v for v, _ in samples], len(groups), nthreads))
    return groups


def base_checks(a, b, what):
    """Two snapshots of one unchanged process: -base shows no difference."""
    _, samples = raw_samples(pprof("-raw", "-base", a, b))
    check(samples == [], "%s: -raw -base left samples %r" % (what, samples))
    shown, total, rows = top_rows(pprof("-top", "-base", a, b))
    check(total == 0 and shown == 0, "%s: -top -base totals %s of %s, want 0" % (what, shown, total))
    nonzero = [r for r in rows if r[0] or r[1]]
    check(not nonzero, "%s: -top -base rows %r" % (what, nonzero))


def common_checks(prof, nthreads, what):
    """-raw parses, one sample of value 1 per thread, the totals of -top agree."""
    raw = pprof("-raw", prof)
    stype, samples = raw_samples(raw)
    check(stype == "threads/count", "%s: sample type %r" % (what, stype))
    check(len(samples) == nthreads and all(v == 1 for v, _ in samples),
          "%s: want %d samples of 1, got %r" % (what, nthreads, [v for v, _ in samples]))
    check("PeriodType: threads count" in raw and "Period: 1" in raw, "%s: period:\n%s" % (what, raw[:500]))
    shown, total, rows = top_rows(pprof("-top", "-lines", "-nodefraction=0", "-nodecount=10000", prof))
    check(total == nthreads and shown == nthreads, "%s: -top shows %s of %s, want %d" % (what, shown, total, nthreads))
    check(sum(r[0] for r in rows) == nthreads, "%s: -top flat adds up to %s" % (what, sum(r[0] for r in rows)))
    return raw, rows


def tagfocus_tids(prof, tag, value):
    tr = traces(pprof("-traces", "-tagfocus=%s=%s" % (tag, value), prof))
    for c, labels, _ in tr:
        # tid is both a string and a numeric label, so -traces may show it twice
        check(set(labels.get(tag, [])) == {value}, "-tagfocus=%s=%s kept a sample labelled %r" % (tag, value, labels))
    return sorted(int(l["tid"][0]) for _, l, _ in tr), sum(c for c, _, _ in tr)


# ---------------------------------------------------------------------------------------
# abba: two threads deadlocked on two mutexes, main in pthread_join

def abba_checks(src, p, prof, what, names):
    exe = build("abba")
    workers = sorted(t for t in task_states(p.pid) if t != p.pid)
    check(len(workers) == 2, "abba threads %r" % workers)
    raw, rows = common_checks(prof, 3, what)
    check("M=1" in raw and os.path.basename(exe) in raw.split("Mappings", 1)[1].splitlines()[1],
          "%s: the executable must be the first mapping:\n%s" % (what, raw.split("Mappings", 1)[1][:500]))
    for func, line in (("take_second", 14), ("transfer_ab", 22), ("transfer_ba", 31), ("main", 57)):
        hit = [r for r in rows if frame_at(r[2], func, "abba.c", line)]
        check(hit and hit[0][1] == (2 if func == "take_second" else 1),
              "%s: -top -lines row for %s abba.c:%d: %r" % (what, func, line, hit or [r[2] for r in rows]))

    # -traces: a block per thread, callers after callees with their lines
    tr = traces(pprof("-traces", "-lines", prof))
    check(sum(c for c, _, _ in tr) == 3 and len(tr) == 3, "%s: -traces blocks %r" % (what, [(c, l) for c, l, _ in tr]))
    for outer, line in (("transfer_ab", 22), ("transfer_ba", 31)):
        blk = [t for t in tr if any(frame_at(f, outer, "abba.c", line) for f in t[2])]
        check(len(blk) == 1, "%s: -traces: no single trace through %s abba.c:%d" % (what, outer, line))
        fr = blk[0][2]
        i = next(n for n, f in enumerate(fr) if frame_at(f, "take_second", "abba.c", 14))
        check(frame_at(fr[i + 1], outer, "abba.c", line), "%s: -traces: %s must call take_second: %r" % (what, outer, fr))
        check(blk[0][1].get("state") == ["mutex"] and int(blk[0][1]["tid"][0]) in workers,
              "%s: labels of the %s trace: %r" % (what, outer, blk[0][1]))
        if names:
            want = "worker-ab" if outer == "transfer_ab" else "worker-ba"
            check(blk[0][1].get("thread") == [want], "%s: thread label %r" % (what, blk[0][1].get("thread")))

    # -tags: the state labels
    tg = tags(pprof("-tags", prof))
    check("state" in tg and tg["state"][1].get("mutex") == 2.0, "%s: -tags state: %r" % (what, tg.get("state")))
    check(tg.get("finding", (0, {}))[1] == {"deadlock#1": 2.0}, "%s: -tags finding: %r" % (what, tg.get("finding")))
    check(tg.get("wait_object", (0, {}))[1].get("lock_a") == 1.0 and tg["wait_object"][1].get("lock_b") == 1.0,
          "%s: -tags wait_object: %r" % (what, tg.get("wait_object")))
    if names:
        check({"worker-ab", "worker-ba"} <= set(tg.get("thread", (0, {}))[1]), "%s: -tags thread %r" % (what, tg.get("thread")))

    # -tagfocus=state=mutex keeps exactly the two waiters
    tids, n = tagfocus_tids(prof, "state", "mutex")
    check(tids == workers and n == 2, "%s: -tagfocus=state=mutex kept %r (%d), want %r" % (what, tids, n, workers))
    shown, total, _ = top_rows(pprof("-top", "-tagfocus=state=mutex", prof))
    check(shown == 2 and total == 3, "%s: -top -tagfocus=state=mutex shows %s of %s" % (what, shown, total))
    # the numeric tid label: -tagfocus=tid=N picks one thread by number
    tids, n = tagfocus_tids(prof, "tid", str(workers[0]))
    check(tids == [workers[0]] and n == 1, "%s: -tagfocus=tid=%d kept %r" % (what, workers[0], tids))
    # -tagshow keeps only the named label
    shown_labels = {k for _, l, _ in traces(pprof("-traces", "-tagshow=state", prof)) for k in l}
    check(shown_labels == {"state"}, "%s: -tagshow=state shows labels %r" % (what, shown_labels))

    # -comments: the findings' summaries
    rep = chang_json(src)
    summaries = [f["summary"] for f in rep["findings"] if f.get("summary")]
    check(any(f["kind"] == "deadlock" for f in rep["findings"]) and summaries, "%s: no deadlock finding" % what)
    comments = pprof("-comments", prof).splitlines()
    for s in summaries:
        check(s in comments, "%s: -comments lacks %r:\n%r" % (what, s, comments))
    check(any("deadlock" in c and "lock_a" in c and "lock_b" in c for c in comments),
          "%s: -comments: %r" % (what, comments))

    # the flame graph served by -http
    page = flamegraph_page(prof)
    check("flame" in page.lower() and "take_second" in page and "transfer_ba" in page,
          "%s: /ui/flamegraph does not show the program's functions:\n%s" % (what, page[:1000]))

    goroutine_text_checks(src, 3, [("take_second", "abba.c", 14), ("transfer_ab", "abba.c", 22),
                                   ("transfer_ba", "abba.c", 31)], what, os.path.dirname(prof))


def test_pprof_abba_live():
    if not go_bin():
        return NO_GO
    with scratch("abba-live") as d, Program(build("abba"), threads=3) as p:
        p.wait_ready()
        src = ["attach", "--pid", str(p.pid)]
        a = write_profile(src, os.path.join(d, "a.pb.gz"))
        abba_checks(src, p, a, "abba live", names=True)
        b = write_profile(src, os.path.join(d, "b.pb.gz"))
        base_checks(a, b, "abba live")
        p.untouched()


def test_pprof_abba_core():
    if not go_bin():
        return NO_GO
    with scratch("abba-core") as d, Program(build("abba"), threads=3) as p:
        p.wait_ready()
        core = p.gcore()
        src = ["core", build("abba"), core]
        a = write_profile(src, os.path.join(d, "a.pb.gz"))
        abba_checks(src, p, a, "abba core", names=False)
        b = write_profile(src, os.path.join(d, "b.pb.gz"))
        base_checks(a, b, "abba core")


# ---------------------------------------------------------------------------------------
# condvar_many: 50 workers on one condition variable

def test_pprof_condvar_many():
    if not go_bin():
        return NO_GO
    exe = build("condvar_many")
    with scratch("condvar") as d, Program(exe, args=["50"], threads=51) as p:
        p.wait_ready()
        workers = sorted(t for t in task_states(p.pid) if t != p.pid)
        check(len(workers) == 50, "condvar_many threads: %d" % len(workers))
        core = p.gcore()
        for what, src in (("condvar live", ["attach", "--pid", str(p.pid)]), ("condvar core", ["core", exe, core])):
            prof = write_profile(src, os.path.join(d, what.replace(" ", "-") + ".pb.gz"))
            _, rows = common_checks(prof, 51, what)
            for func, line in (("queue_pop", 19), ("worker", 29)):
                hit = [r for r in rows if frame_at(r[2], func, "condvar_many.c", line)]
                check(hit and hit[0][1] == 50, "%s: -top -lines %s condvar_many.c:%d: %r" % (what, func, line, hit))
            tg = tags(pprof("-tags", prof))
            check(tg.get("state", (0, {}))[1].get("condvar") == 50.0, "%s: -tags state %r" % (what, tg.get("state")))
            tids, n = tagfocus_tids(prof, "state", "condvar")
            check(tids == workers and n == 50, "%s: -tagfocus=state=condvar kept %d threads" % (what, n))
            tr = traces(pprof("-traces", "-lines", "-tagfocus=state=condvar", prof))
            for _, _, fr in tr:
                i = next((n for n, f in enumerate(fr) if frame_at(f, "queue_pop", "condvar_many.c", 19)), None)
                check(i is not None and frame_at(fr[i + 1], "worker", "condvar_many.c", 29),
                      "%s: -traces: worker must call queue_pop: %r" % (what, fr))
            groups = goroutine_text_checks(src, 51, [("queue_pop", "condvar_many.c", 19),
                                                     ("worker", "condvar_many.c", 29)], what, d)
            check(groups[0][0] == 50, "%s: the pool is one group of 50, got %r" % (what, [g[0] for g in groups]))
        p.untouched()


# ---------------------------------------------------------------------------------------
# inline_cpp: C++ names, a location with inlined frames

def test_pprof_inline_cpp():
    if not go_bin():
        return NO_GO
    exe = build("inline_cpp", cxx=True, opt="-O2")
    with scratch("inline") as d, Program(exe, threads=4) as p:
        p.wait_ready()
        core = p.gcore()
        for what, src in (("inline live", ["attach", "--pid", str(p.pid)]), ("inline core", ["core", exe, core])):
            prof = write_profile(src, os.path.join(d, what.replace(" ", "-") + ".pb.gz"))
            raw, rows = common_checks(prof, 4, what)
            # one location, innermost first: wait_for_stock (inlined) then reserve, with the
            # mangled names as system names
            locs = re.findall(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ .*(?:\n\s{10,}\S.*)*", raw, re.M)
            chain = [l for l in locs if "shop::Inventory::reserve(int)" in l]
            check(len(chain) == 1, "%s: want one location for reserve, got %r" % (what, chain))
            # "N: 0xADDR M=N func file:line s=0(system name)", further lines of the location
            # without the address part
            lines = [re.sub(r"^\d+: 0x[0-9a-f]+ M=\d+ ", "", l.strip()) for l in chain[0].splitlines()]
            ws = [n for n, l in enumerate(lines) if l.startswith("shop::Inventory::wait_for_stock(")]
            rs = [n for n, l in enumerate(lines) if l.startswith("shop::Inventory::reserve(int) ")]
            check(ws and rs and ws[0] < rs[0] and rs[0] == len(lines) - 1,
                  "%s: inlined chain not innermost-first in one location:\n%s" % (what, chain[0]))
            check("(_ZN4shop9Inventory7reserveEi)" in lines[rs[0]] and "inline_cpp.cpp:29" in lines[rs[0]],
                  "%s: reserve's system name / line: %r" % (what, lines[rs[0]]))
            check("inline_cpp.cpp:22" in lines[ws[0]], "%s: wait_for_stock's line: %r" % (what, lines[ws[0]]))
            mp = raw.split("Mappings", 1)[1]
            check(re.search(r"inline_cpp \S+ \[FN\]\[FL\]\[LN\]\[IN\]", mp),
                  "%s: the executable's mapping must say it has inline frames:\n%s" % (what, mp))
            tr = traces(pprof("-traces", "-lines", prof))
            check(sum(c for c, _, _ in tr) == 4, "%s: -traces total" % what)
            customers = [fr for _, _, fr in tr if any("reserve(int)" in f for f in fr)]
            check(len(customers) == 3, "%s: %d customer traces" % (what, len(customers)))
            for fr in customers:
                i = next(n for n, f in enumerate(fr) if f.startswith("shop::Inventory::wait_for_stock("))
                check(fr[i].endswith("inline_cpp.cpp:22 (inline)")
                      and frame_at(fr[i + 1], "shop::Inventory::reserve(int)", "inline_cpp.cpp", 29)
                      and frame_at(fr[i + 2], "customer", "inline_cpp.cpp", 40),
                      "%s: -traces inline chain: %r" % (what, fr))
            hit = [r for r in rows if frame_at(r[2], "shop::Inventory::reserve(int)", "inline_cpp.cpp", 29)]
            check(hit and hit[0][1] == 3, "%s: -top -lines reserve: %r" % (what, hit))
            tids, n = tagfocus_tids(prof, "state", "condvar")
            check(n == 3 and len(tids) == 3, "%s: -tagfocus=state=condvar kept %d" % (what, n))
            goroutine_text_checks(src, 4, [("shop::Inventory::reserve(int)", "inline_cpp.cpp", 29),
                                           ("shop::Inventory::wait_for_stock(std::unique_lock<std::mutex>&)",
                                            "inline_cpp.cpp", 22),
                                           ("customer", "inline_cpp.cpp", 40)], what, d)
        p.untouched()


# ---------------------------------------------------------------------------------------
# -o DIR: the default file name

def test_pprof_output_dir():
    if not go_bin():
        return NO_GO
    exe = build("abba")
    with scratch("odir") as top, Program(exe, threads=3) as p:
        p.wait_ready()
        core = p.gcore()
        for what, src in (("live", ["attach", "--pid", str(p.pid)]), ("core", ["core", exe, core])):
            d = os.path.join(top, what)
            os.makedirs(d)
            t0 = time.time()
            run_chang(src + ["--format=pprof", "-o", d])
            t1 = time.time()
            names = os.listdir(d)
            check(len(names) == 1, "%s: -o DIR wrote %r" % (what, names))
            m = re.match(r"^chang-(\d+)-(\d{8}-\d{6})\.pb\.gz$", names[0])
            check(m and int(m.group(1)) == p.pid, "%s: file name %r, want chang-%d-TIME.pb.gz" % (what, names[0], p.pid))
            # UTC, the capture time: for a core, when it was written
            stamp = calendar.timegm(time.strptime(m.group(2), "%Y%m%d-%H%M%S"))
            lo = os.path.getmtime(core) if what == "core" else t0
            check(lo - 2 <= stamp <= t1 + 1, "%s: time in the name %s is not the capture time (%.0f..%.0f)"
                  % (what, m.group(2), lo, t1))
            stype, samples = raw_samples(pprof("-raw", os.path.join(d, names[0])))
            check(stype == "threads/count" and len(samples) == 3, "%s: %s: %r" % (what, names[0], samples))
        p.untouched()
