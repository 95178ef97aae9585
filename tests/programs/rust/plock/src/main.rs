// parking_lot locks record no owner and park their waiters on a futex of their own
// (thread-local), not on the lock. Modes:
//   mutex:   post locks LEDGER then JOURNAL, audit JOURNAL then LEDGER (AB-BA)
//   rwlock:  reindex writes INDEX then reads TABLE, retable writes TABLE then reads INDEX
//   healthy: four threads take both mutexes in one order, briefly, again and again
use parking_lot::{const_mutex, const_rwlock, Mutex, RwLock};
use std::io::Write;
use std::sync::{Arc, Barrier};

static LEDGER: Mutex<u64> = const_mutex(0);
static JOURNAL: Mutex<u64> = const_mutex(0);
static INDEX: RwLock<u64> = const_rwlock(0);
static TABLE: RwLock<u64> = const_rwlock(0);

#[inline(never)]
fn post(b: Arc<Barrier>) {
    let mut a = LEDGER.lock();
    b.wait();
    let j = JOURNAL.lock();
    *a += *j;
}

#[inline(never)]
fn audit(b: Arc<Barrier>) {
    let mut j = JOURNAL.lock();
    b.wait();
    let a = LEDGER.lock();
    *j += *a;
}

#[inline(never)]
fn reindex(b: Arc<Barrier>) {
    let mut i = INDEX.write();
    b.wait();
    let t = TABLE.read();
    *i += *t;
}

#[inline(never)]
fn retable(b: Arc<Barrier>) {
    let mut t = TABLE.write();
    b.wait();
    let i = INDEX.read();
    *t += *i;
}

#[inline(never)]
fn churn() {
    loop {
        {
            let mut a = LEDGER.lock();
            let mut j = JOURNAL.lock();
            *a += 1;
            *j += 1;
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

/// Threads "ab" and "ba" sleeping in futex(2) (syscall 202).
fn blocked_in_futex() -> usize {
    let mut n = 0;
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let p = e.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let sc = std::fs::read_to_string(p.join("syscall")).unwrap_or_default();
        if (comm.trim() == "ab" || comm.trim() == "ba") && sc.starts_with("202 ") {
            n += 1;
        }
    }
    n
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().name(name.into()).spawn(f).unwrap();
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    // main passes the barrier with the two threads: after it, their only futex waits are the
    // locks' (parked), which /proc shows before READY is printed
    let b = Arc::new(Barrier::new(3));
    let b2 = b.clone();
    let b3 = b.clone();
    match mode.as_str() {
        "mutex" => {
            spawn("ab", move || post(b));
            spawn("ba", move || audit(b2));
        }
        "rwlock" => {
            spawn("ab", move || reindex(b));
            spawn("ba", move || retable(b2));
        }
        _ => {
            for _ in 0..4 {
                spawn("churn", churn);
            }
        }
    }
    if mode == "mutex" || mode == "rwlock" {
        b3.wait();
        while blocked_in_futex() < 2 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    println!("READY");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}
