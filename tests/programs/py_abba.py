"""An AB-BA deadlock on two threading.Lock objects (each a sem_t in CPython on Linux): once
both threads hold their first lock, it prints READY and each blocks on the other's."""
import threading

a, b = threading.Lock(), threading.Lock()
both = threading.Barrier(3)


def ab():
    with a:
        both.wait()
        with b:
            pass


def ba():
    with b:
        both.wait()
        with a:
            pass


t1 = threading.Thread(target=ab, name="ab")
t2 = threading.Thread(target=ba, name="ba")
t1.start()
t2.start()
both.wait()
print("READY", flush=True)
t1.join()
