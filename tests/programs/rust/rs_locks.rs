// Rust std::sync waits for chang's tests (std's futex locks record no owner):
//   mutex    AB-BA between two `static Mutex` values: "ab" holds LEDGER and waits for AUDIT,
//            "ba" holds AUDIT and waits for LEDGER
//   rwlock   "ab" write-locks BOOKS then wants to write JOURNAL; "ba" write-locks JOURNAL then
//            wants to read BOOKS
//   condvar  "waiter" waits on READY_CV, which nobody notifies
//   once     "init" runs CONFIG_ONCE's initialiser, which blocks; "reader" waits on CONFIG_ONCE
//   healthy  "ab" and "ba" take LEDGER then AUDIT in the same order, forever: contention
//            that moves
// Prints "READY <pid>" once the threads are where they block (or, healthy, once both run).
use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, Once, RwLock};
use std::thread;

static LEDGER: Mutex<u64> = Mutex::new(0);
static AUDIT: Mutex<u64> = Mutex::new(0);
static BOOKS: RwLock<u64> = RwLock::new(0);
static JOURNAL: RwLock<u64> = RwLock::new(0);
static READY_FLAG: Mutex<bool> = Mutex::new(false);
static READY_CV: Condvar = Condvar::new();
static CONFIG_ONCE: Once = Once::new();

#[inline(never)]
fn transfer(first: &'static Mutex<u64>, second: &'static Mutex<u64>, both: Arc<Barrier>, ready: mpsc::Sender<()>) {
    let mut a = first.lock().unwrap();
    both.wait();
    ready.send(()).unwrap();
    let mut b = second.lock().unwrap();
    *a += 1;
    *b += 1;
}

#[inline(never)]
fn post(both: Arc<Barrier>, ready: mpsc::Sender<()>) {
    let mut b = BOOKS.write().unwrap();
    both.wait();
    ready.send(()).unwrap();
    let mut j = JOURNAL.write().unwrap();
    *b += 1;
    *j += 1;
}

#[inline(never)]
fn audit(both: Arc<Barrier>, ready: mpsc::Sender<()>) {
    let mut j = JOURNAL.write().unwrap();
    both.wait();
    ready.send(()).unwrap();
    let b = BOOKS.read().unwrap();
    *j += *b;
}

#[inline(never)]
fn wait_ready(ready: mpsc::Sender<()>) {
    let mut flag = READY_FLAG.lock().unwrap();
    ready.send(()).unwrap();
    while !*flag {
        flag = READY_CV.wait(flag).unwrap();
    }
}

fn spawn<F: FnOnce() + Send + 'static>(name: &str, f: F) {
    thread::Builder::new().name(name.into()).spawn(f).unwrap();
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let (tx, rx) = mpsc::channel();
    let both = Arc::new(Barrier::new(2));
    let (t1, b1, b2) = (tx.clone(), both.clone(), both);
    let waits = match mode.as_str() {
        "mutex" => {
            spawn("ab", move || transfer(&LEDGER, &AUDIT, b1, t1));
            spawn("ba", move || transfer(&AUDIT, &LEDGER, b2, tx));
            2
        }
        "rwlock" => {
            spawn("ab", move || post(b1, t1));
            spawn("ba", move || audit(b2, tx));
            2
        }
        "condvar" => {
            spawn("waiter", move || wait_ready(t1));
            1
        }
        "once" => {
            let (started_tx, started_rx) = mpsc::channel::<()>();
            spawn("init", move || {
                CONFIG_ONCE.call_once(|| {
                    started_tx.send(()).unwrap();
                    loop {
                        thread::park();
                    }
                })
            });
            started_rx.recv().unwrap();
            spawn("reader", move || {
                t1.send(()).unwrap();
                CONFIG_ONCE.call_once(|| {});
            });
            1
        }
        "healthy" => {
            for (name, t) in [("ab", t1), ("ba", tx)] {
                spawn(name, move || {
                    let mut n: u64 = 0;
                    loop {
                        let mut a = LEDGER.lock().unwrap();
                        let mut b = AUDIT.lock().unwrap();
                        *a += 1;
                        *b += 1;
                        n += 1;
                        if n == 1000 {
                            t.send(()).unwrap();
                        }
                    }
                });
            }
            2
        }
        _ => panic!("usage: rs_locks mutex|rwlock|condvar|healthy"),
    };
    for _ in 0..waits {
        rx.recv().unwrap();
    }
    println!("READY {}", std::process::id());
    std::io::stdout().flush().unwrap();
    loop {
        thread::park();
    }
}
