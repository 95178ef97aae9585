"""The analyzers on real hung programs, live and from gcore cores: what each thread waits
on and who holds it, deadlock cycles (mutexes, rwlock writers, C++ std::mutex), a
self-deadlock, abandoned locks, a blocking chain with its root, mass blocking on a condvar
and on a pipe, and one cycle among 2,000 mostly idle threads. The programs are
tests/programs/an_*.c; their threads are told apart by their frames, which cores have too
(cores carry no per-thread names)."""
import os
import re
import subprocess
import time

from harness import Program, TestFailure, build, chang_json, check, functions, have_tool, run_chang


def with_fn(rep, fn):
    return [t for t in rep["threads"] if fn in functions(t)]


def tids_with(rep, fn):
    return sorted(t["tid"] for t in with_fn(rep, fn))


def findings(rep, kind):
    return [f for f in rep["findings"] if f["kind"] == kind]


def kinds(rep):
    return [f["kind"] for f in rep["findings"]]


def thread(rep, tid):
    m = [t for t in rep["threads"] if t["tid"] == tid]
    check(len(m) == 1, "thread %d not in the report" % tid)
    return m[0]


def severity_ordered(rep):
    order = ["deadlock", "self-deadlock", "abandoned-lock", "blocking-chain", "mass-blocking"]
    ks = [order.index(k) for k in kinds(rep)]
    check(ks == sorted(ks), "findings not ordered by severity: %r" % kinds(rep))
    seen = {}
    for f in rep["findings"]:
        seen[f["kind"]] = seen.get(f["kind"], 0) + 1
        check(f["id"] == "%s#%d" % (f["kind"], seen[f["kind"]]), "finding id %r" % f["id"])
        check(f["summary"] and f["summary"].endswith("."), "summary %r" % f["summary"])


def syscalls(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                out[tid] = f.read().split()[:4]
        except OSError:
            pass
    return out


def settle(p, timeout=20.0):
    """Until every thread sits in a syscall and none moved over 50 ms: a waiter woken from
    a helper lock on its way to its final wait must not be caught half-way."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = syscalls(p.pid)
        if now == last and all(v and v[0] != "running" for v in now.values()):
            return
        last = now
        time.sleep(0.05)
    raise TestFailure("threads of %d kept moving" % p.pid)


def both(name, checker, args=(), threads=None, cxx=False, blocked=None, timeout=20.0):
    """Run checker(report, program, source) on a live capture, then on a gcore core."""
    binary = build(name, cxx=cxx)
    with Program(binary, args=args, threads=threads) as p:
        p.wait_ready(timeout=timeout, blocked=blocked)
        settle(p)
        rep = chang_json(["attach", "--pid", str(p.pid)])
        severity_ordered(rep)
        checker(rep, p, "attach")
        p.untouched()
        core = p.gcore()
        rep = chang_json(["core", binary, core])
        severity_ordered(rep)
        checker(rep, p, "core")
        os.unlink(core)


def check_cycle(f, members, lock_symbols, kinds_=("mutex",)):
    """One cycle: its threads in edge order, each lock held by the next thread."""
    check(sorted(f["tids"]) == sorted(members), "cycle %r, want %r" % (f["tids"], members))
    check(len(f["locks"]) == len(members), "one lock per thread: %r" % f["locks"])
    n = len(members)
    for i, l in enumerate(f["locks"]):
        check(l["owner_tid"] == f["tids"][(i + 1) % n], "lock %d owner %r, tids %r" % (i, l["owner_tid"], f["tids"]))
        check(f["tids"][i] in l["waiters"], "thread %d waits for lock %d" % (f["tids"][i], i))
        check(l["kind"] in kinds_, "lock kind %r" % l["kind"])
        check(re.match(r"0x[0-9a-f]+$", l["address"]), "address %r" % l["address"])
    check(sorted(l["symbol"] for l in f["locks"]) == sorted(lock_symbols),
          "lock names %r, want %r" % ([l["symbol"] for l in f["locks"]], lock_symbols))


def test_abba_with_tail():
    def checker(rep, p, source):
        ab, ba, tail = tids_with(rep, "ab"), tids_with(rep, "ba"), tids_with(rep, "tail")
        check(len(ab) == 1 and len(ba) == 1 and len(tail) == 3, "threads by frames: %r %r %r" % (ab, ba, tail))
        check(kinds(rep) == ["deadlock"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check_cycle(f, ab + ba, ["lock_a", "lock_b"])
        lock_a = [l for l in f["locks"] if l["symbol"] == "lock_a"][0]
        check(sorted(lock_a["waiters"]) == sorted(ba + tail), "lock_a waiters %r" % lock_a["waiters"])
        check(lock_a["owner_tid"] == ab[0], "lock_a held by ab")
        check("3 more threads are blocked behind them" in f["summary"], f["summary"])
        for t in tail:
            w = thread(rep, t)["wait"]
            check(thread(rep, t)["state"] == "mutex" and w["kind"] == "mutex" and w["symbol"] == "lock_a"
                  and w["owner_tid"] == ab[0], "tail wait %r" % w)
    both("an_abba", checker, threads=6)


def test_abba_text_exit_code_and_dot():
    binary = build("an_abba")
    with Program(binary, threads=6) as p:
        p.wait_ready()
        settle(p)
        r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
        check(r.returncode == 3, "--exit-code with a deadlock: %d (%s)" % (r.returncode, r.stderr))
        text = r.stdout
        head = text[:text.index("Found 1 deadlock.")]
        check("deadlock#1: 2 threads are deadlocked" in head, "deadlock header:\n%s" % text[:2000])
        check(re.search(r"waiting to lock mutex lock_b \(0x[0-9a-f]+\),\n  which is held by thread \d+ \"ba\"", head),
              "jstack-like lines:\n%s" % head)
        stacks = head[head.index("Stacks of the threads listed above:"):]
        check(stacks.count("at lock_second (an_abba.c:") == 2, "stacks of both threads:\n%s" % stacks)
        check("pthread_mutex_lock" in stacks, "stacks reach into glibc:\n%s" % stacks)
        r = run_chang(["attach", "--pid", str(p.pid), "--format=dot"])
        dot = r.stdout
        check(dot.startswith("digraph chang {") and dot.rstrip().endswith("}"), "dot:\n%s" % dot[:500])
        check(dot.count("color=red") >= 6, "cycle highlighted:\n%s" % dot)
        check('"mutex\\nlock_a"' in dot and '"mutex\\nlock_b"' in dot, "lock nodes:\n%s" % dot)
        if have_tool("dot"):
            g = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
            check(g.returncode == 0 and "<svg" in g.stdout, "graphviz rejected the graph: %s" % g.stderr)
        p.untouched()


def test_philosophers_ring():
    n = 7

    def checker(rep, p, source):
        philos = tids_with(rep, "philosopher")
        check(len(philos) == n, "philosophers %r" % philos)
        check(kinds(rep) == ["deadlock"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        names = ["forks[%d]" % i for i in range(1, n)] + ["forks[0]"]
        check_cycle(f, philos, names)
        check(f["tids"][0] == min(philos), "cycle starts at the lowest tid: %r" % f["tids"])
        check(("%d threads are deadlocked" % n) in f["summary"], f["summary"])
    both("an_philosophers", checker, args=[str(n)], threads=n + 1)


def test_self_deadlock():
    def checker(rep, p, source):
        me = tids_with(rep, "apply_settings")
        readers = tids_with(rep, "reader")
        check(len(me) == 1 and len(readers) == 2, "threads %r %r" % (me, readers))
        check(kinds(rep) == ["self-deadlock"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check(f["tids"] == me, "tids %r" % f["tids"])
        l = f["locks"][0]
        check(l["symbol"] == "config_lock" and l["owner_tid"] == me[0], "lock %r" % l)
        check(sorted(l["waiters"]) == sorted(me + readers), "waiters %r" % l["waiters"])
        check("which it already holds itself" in f["summary"], f["summary"])
        check(thread(rep, me[0])["wait"]["owner_tid"] == me[0], "owner is itself")
    both("an_selflock", checker, threads=4)
    with Program(build("an_selflock"), threads=4) as p:
        p.wait_ready()
        settle(p)
        r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
        check(r.returncode == 3, "--exit-code with a self-deadlock: %d" % r.returncode)


def test_abandoned_locks():
    def checker(rep, p, source):
        gone = [l for l in p.lines if l.startswith("GONE ")]
        check(gone, "program lines %r" % p.lines)
        gone_mutex, gone_rw = (int(x) for x in gone[0].split()[1:3])
        check(all(t["tid"] not in (gone_mutex, gone_rw) for t in rep["threads"]), "dead threads reported")
        check(kinds(rep) == ["abandoned-lock", "abandoned-lock"], "findings %r" % kinds(rep))
        by = {f["locks"][0]["symbol"]: f for f in rep["findings"]}
        check(set(by) == {"state_lock", "table_lock"}, "locks %r" % list(by))
        m, r = by["state_lock"], by["table_lock"]
        check(m["locks"][0]["owner_tid"] == gone_mutex and m["locks"][0]["kind"] == "mutex", "state_lock %r" % m)
        check(sorted(m["tids"]) == tids_with(rep, "update_state") and len(m["tids"]) == 3, "state_lock waiters %r" % m["tids"])
        check(r["locks"][0]["owner_tid"] == gone_rw and r["locks"][0]["kind"] == "rwlock", "table_lock %r" % r)
        check(r["tids"] == tids_with(rep, "read_table"), "table_lock waiters %r" % r["tids"])
        check("not a thread of this process" in m["summary"] and str(gone_mutex) in m["summary"], m["summary"])
    both("an_abandoned", checker, threads=5)


def test_convoy_chain():
    def checker(rep, p, source):
        holder = tids_with(rep, "wait_for_reply")
        clients = tids_with(rep, "query_db")
        check(len(holder) == 1 and len(clients) == 50, "threads %r, %d clients" % (holder, len(clients)))
        check(kinds(rep) == ["blocking-chain"], "findings %r (no false deadlock)" % kinds(rep))
        f = rep["findings"][0]
        check(f["root_tid"] == holder[0], "root %r" % f["root_tid"])
        check(sorted(f["tids"]) == sorted(clients + [rep["pid"]]), "behind the root: %r" % f["tids"])
        check(len(f["locks"]) == 1 and f["locks"][0]["symbol"] == "db_lock" and len(f["locks"][0]["waiters"]) == 50,
              "locks %r" % f["locks"])
        w = thread(rep, holder[0])["wait"]
        check(w["kind"] == "read" and w["fd"] is not None, "holder wait %r" % w)
        s = f["summary"]
        check(s.startswith("50 threads wait for mutex db_lock held by thread %d" % holder[0]), s)
        check("blocked in read() on fd %d" % w["fd"] in s and "wait_for_reply (an_convoy.c:" in s, s)
        if source == "attach":
            check(w["fd_target"].startswith("pipe:["), "fd target %r" % w["fd_target"])
            check(w["fd_target"] in s, s)
        else:
            check(w["fd_target"] is None, "a core knows no fd targets: %r" % w["fd_target"])
        main = thread(rep, rep["pid"])
        check(main["wait"]["kind"] == "join" and main["wait"]["owner_tid"] == holder[0], "main %r" % main["wait"])
    both("an_convoy", checker, threads=52)


def test_convoy_exit_code_zero():
    with Program(build("an_convoy"), threads=52) as p:
        p.wait_ready()
        settle(p)
        r = run_chang(["attach", "--pid", str(p.pid), "--exit-code"], check_rc=False)
        check(r.returncode == 0, "a chain alone is not a deadlock: exit %d" % r.returncode)


def test_bounded_queue_dead_consumer():
    def checker(rep, p, source):
        producers = tids_with(rep, "queue_put")
        check(len(producers) == 300, "%d producers" % len(producers))
        check(kinds(rep) == ["mass-blocking"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check(f["count"] == 300 and sorted(f["tids"]) == producers, "count %r" % f["count"])
        o = f["object"]
        check(o["kind"] == "condvar" and o["symbol"] == "jobs.not_full", "object %r" % o)
        check(not f["maybe_normal"], "producers with no consumer are not an idle pool")
        check("300 threads" in f["summary"] and "queue_put (an_bqueue.c:" in f["summary"], f["summary"])
        for t in producers[:5]:
            w = thread(rep, t)["wait"]
            check(w["kind"] == "condvar" and w["address"] == o["address"] and not w["idle"], "wait %r" % w)
    both("an_bqueue", checker, threads=301, timeout=30)


def test_pipe_writers():
    def checker(rep, p, source):
        fds = [l for l in p.lines if l.startswith("PIPE ")][0].split()
        wfd = int(fds[2])
        writers = tids_with(rep, "emit_log")
        check(len(writers) == 40, "%d writers" % len(writers))
        check(kinds(rep) == ["mass-blocking"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        o = f["object"]
        check(f["count"] == 40 and o["kind"] == "write" and o["fd"] == wfd, "object %r" % o)
        check(not f["maybe_normal"], "writers stuck on a full pipe are a problem")
        if source == "attach":
            check(o["fd_target"].startswith("pipe:["), "fd target %r" % o["fd_target"])
            check("no thread of this process is reading" in f["summary"], f["summary"])
        else:
            check(o["fd_target"] is None and ("on fd %d" % wfd) in f["summary"], f["summary"])
    both("an_pipewriters", checker, threads=41)


def test_rwlock_writer_mutex_cycle():
    def checker(rep, p, source):
        idx, rep_ = tids_with(rep, "indexer"), tids_with(rep, "reporter")
        check(len(idx) == 1 and len(rep_) == 1, "threads %r %r" % (idx, rep_))
        check(kinds(rep) == ["deadlock"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check_cycle(f, idx + rep_, ["index_lock", "stats_lock"], kinds_=("mutex", "rwlock"))
        rw = [l for l in f["locks"] if l["kind"] == "rwlock"][0]
        check(rw["symbol"] == "index_lock" and rw["owner_tid"] == idx[0] and rw["waiters"] == rep_, "rwlock %r" % rw)
        w = thread(rep, rep_[0])["wait"]
        check(w["kind"] == "rwlock" and "wants to read" in w["detail"], "reader wait %r" % w)
    both("an_rwcycle", checker, threads=3)


def test_cxx_std_mutex_cycle():
    def checker(rep, p, source):
        members = sorted(t["tid"] for t in rep["threads"]
                         if any(fn and fn.startswith("bank::transfer") for fn in functions(t)))
        check(len(members) == 2, "transfer threads %r" % members)
        check(kinds(rep) == ["deadlock"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check(sorted(f["tids"]) == members, "cycle %r" % f["tids"])
        syms = sorted(l["symbol"] or "" for l in f["locks"])
        check(syms == ["alice.mu", "bob.mu"], "locks %r" % syms)
        for t in members:
            check(thread(rep, t)["wait"]["kind"] == "mutex", "std::mutex decoded as a mutex")
    both("an_cxx_mutex", checker, threads=3, cxx=True)


def test_one_cycle_among_2000_idle_threads():
    def checker(rep, p, source):
        check(rep["thread_count"] == 2000, "threads %r" % rep["thread_count"])
        check(kinds(rep) == ["deadlock", "mass-blocking"], "findings %r" % kinds(rep))
        d, m = rep["findings"]
        check_cycle(d, tids_with(rep, "flush_cache") + tids_with(rep, "write_journal"),
                    ["cache_lock", "journal_lock"])
        check(m["maybe_normal"] and m["count"] == 1996 and m["object"]["symbol"] == "pool.has_work",
              "pool %r" % {k: m[k] for k in ("count", "maybe_normal", "summary")})
        check("may be normal" in m["summary"], m["summary"])
        loop = with_fn(rep, "event_loop")
        check(len(loop) == 1 and loop[0]["wait"]["kind"] == "epoll" and loop[0]["wait"]["idle"],
              "event loop %r" % (loop[0]["wait"] if loop else None))
        workers = with_fn(rep, "wait_for_job")
        check(len(workers) == 1996 and all(t["wait"]["idle"] for t in workers), "idle workers")
    both("an_many", checker, threads=2000, timeout=60)


test_one_cycle_among_2000_idle_threads.timeout = 300
test_bounded_queue_dead_consumer.timeout = 180


def test_mass_threshold_option():
    with Program(build("an_pipewriters"), threads=41) as p:
        p.wait_ready()
        settle(p)
        rep = chang_json(["attach", "--pid", str(p.pid), "--mass-threshold=41"])
        check(kinds(rep) == [], "40 writers are under a threshold of 41: %r" % kinds(rep))
        rep = chang_json(["attach", "--pid", str(p.pid), "--mass-threshold=40"])
        check(kinds(rep) == ["mass-blocking"] and rep["findings"][0]["count"] == 40, "threshold 40: %r" % kinds(rep))
        core = p.gcore()
        r = run_chang(["core", build("an_pipewriters"), core, "--format=dot"])
        check("40 threads\\nwrite() in emit_log" in r.stdout, "dot from a core:\n%s" % r.stdout)
        os.unlink(core)


def test_stdio_lock_chain():
    def checker(rep, p, source):
        logger = tids_with(rep, "flush_batch")
        clients = tids_with(rep, "log_line")
        check(len(logger) == 1 and len(clients) == 10, "threads %r %r" % (logger, clients))
        check(kinds(rep) == ["blocking-chain"], "findings %r" % kinds(rep))
        f = rep["findings"][0]
        check(f["root_tid"] == logger[0] and sorted(f["tids"]) == clients, "chain %r" % f)
        for t in clients:
            w = thread(rep, t)["wait"]
            check(w["kind"] == "mutex" and w["owner_tid"] == logger[0] and "stdio FILE lock" in w["detail"],
                  "client wait %r" % w)
        check(thread(rep, logger[0])["wait"]["kind"] == "write", "the logger is blocked in write()")
        check("blocked in write() on fd" in f["summary"] and "flush_batch (an_stdio.c:" in f["summary"], f["summary"])
    both("an_stdio", checker, threads=12)
