// An AB-BA deadlock on two std::sync::Mutex (a futex word with no owner): once both threads
// hold their first lock, it prints READY and each blocks on the other's; main joins "ab".
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
fn main() {
    let a = Arc::new(Mutex::new(0)); let b = Arc::new(Mutex::new(0));
    let bar = Arc::new(Barrier::new(3));
    let (a1, b1, c1) = (a.clone(), b.clone(), bar.clone());
    let t1 = thread::Builder::new().name("ab".into()).spawn(move || { let _g = a1.lock().unwrap(); c1.wait(); let _h = b1.lock().unwrap(); }).unwrap();
    let (a2, b2, c2) = (a.clone(), b.clone(), bar.clone());
    let _t2 = thread::Builder::new().name("ba".into()).spawn(move || { let _g = b2.lock().unwrap(); c2.wait(); let _h = a2.lock().unwrap(); }).unwrap();
    bar.wait();
    println!("READY"); 
    t1.join().unwrap();
}
