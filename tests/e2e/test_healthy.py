"""No false findings on healthy programs. An event-loop server (tests/programs/event_loops.c:
16 workers each in epoll_wait on an epoll instance of its own, a listener in accept, a
sleeper) gets no finding, look after look: distinct epoll instances are not one object
because their link text is the same. A busy program whose threads take turns on a mutex
(tests/programs/contended.c) looks like a blocking chain to any single snapshot; the second
look (--second-look) sees the threads move on and drops it, while a real hang's findings are
confirmed, with how long."""
from harness import Program, build, chang_json, check, run_chang


def test_event_loops_no_findings_three_attaches():
    p = Program(build("event_loops"), args=["16"], threads=19)
    with p:
        p.wait_ready()
        looks = []
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check(rep["findings"] == [], "attach #%d of a healthy event-loop server: %r"
                  % (i + 1, [f["summary"] for f in rep["findings"]]))
            check(rep["unchecked_waits"] == 0, "unchecked waits %r" % rep["unchecked_waits"])
            kinds = sorted((t["wait"] or {}).get("kind") or t["state"] for t in rep["threads"])
            looks.append(kinds)
            epolls = [t["wait"] for t in rep["threads"] if t["wait"] and t["wait"]["kind"] == "epoll"]
            check(len(epolls) == 17 and len({w["fd"] for w in epolls}) == 17,
                  "17 epoll loops on 17 fds: %r" % [w["fd"] for w in epolls])
        check(looks[0] == looks[1] == looks[2], "wait kinds differ between looks: %r" % looks)
        check(looks[0].count("epoll") == 17 and looks[0].count("accept") == 1 and looks[0].count("sleep") == 1,
              "kinds %r" % looks[0])
        r = run_chang(["attach", "--pid", str(p.pid)])
        check("No deadlock found.\n" in r.stdout and "mass-blocking" not in r.stdout, r.stdout[:2000])
        # the same with the mass threshold lowered to 2: still no group of distinct epolls
        rep = chang_json(["attach", "--pid", str(p.pid), "--mass-threshold=2"])
        check(rep["findings"] == [], "threshold 2: %r" % [f["summary"] for f in rep["findings"]])


def test_contended_mutex_dropped_by_second_look():
    p = Program(build("contended"), threads=13)
    with p:
        p.wait_ready()
        without = 0
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid), "--second-look=0"])
            check(rep["second_look"] is None, "--second-look=0 still looked: %r" % rep["second_look"])
            without += len(rep["findings"])
        # what a single snapshot sees: the turn-taking as a chain (the case the look is for)
        check(without > 0, "three snapshots of twelve threads taking turns showed no chain at all")
        dropped = 0
        for i in range(3):
            rep = chang_json(["attach", "--pid", str(p.pid)])
            check(rep["findings"] == [], "attach #%d with a second look: %r"
                  % (i + 1, [f["summary"] for f in rep["findings"]]))
            if rep["second_look"]:
                dropped += rep["second_look"]["dropped_findings"]
                check(100 <= rep["second_look"]["ms"] < 2000, "look of %r ms" % rep["second_look"]["ms"])
        check(dropped > 0, "no finding was dropped by the second look")
        r = run_chang(["attach", "--pid", str(p.pid), "--second-look=40ms"])
        check("dropped" in r.stdout or "No deadlock found" in r.stdout, r.stdout[:1500])


def test_real_hang_confirmed_by_second_look():
    p = Program(build("an_convoy"))
    with p:
        p.wait_ready()
        rep = chang_json(["attach", "--pid", str(p.pid)])
        chains = [f for f in rep["findings"] if f["kind"] == "blocking-chain"]
        check(chains, "no chain in the convoy: %r" % [f["kind"] for f in rep["findings"]])
        check(all(f["confirmed_ms"] and f["confirmed_ms"] >= 100 for f in chains),
              "chains not confirmed: %r" % [f["confirmed_ms"] for f in chains])
        check(rep["second_look"]["dropped_findings"] == 0, "a real hang's finding dropped")
        r = run_chang(["attach", "--pid", str(p.pid)])
        check("Unchanged over a second look of" in r.stdout, r.stdout[:2000])
        rep = chang_json(["attach", "--pid", str(p.pid), "--second-look=0"])
        check(all(f["confirmed_ms"] is None for f in rep["findings"]), "confirmed without a look")


def test_no_stop_reads_no_false_self_deadlock():
    """--no-stop reads threads and lock words at different moments: a turn-taker caught
    waiting, then read as the mutex's owner once it got it, looks like a self-deadlock. The
    second look sees it move on; without the look it shows up now and then."""
    p = Program(build("contended"), threads=13)
    with p:
        p.wait_ready()
        for i in range(8):
            rep = chang_json(["attach", "--no-stop", "--pid", str(p.pid)])
            check(rep["findings"] == [], "--no-stop look #%d: %r" % (i + 1, [f["summary"] for f in rep["findings"]]))
