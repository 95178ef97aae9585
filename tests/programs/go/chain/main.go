// Scenario chain: two blocking chains whose roots are goroutines waiting on channels nobody
// sends to, the way a log pipeline and a shutdown hang in production.
//
//	300 x handle:  send on logCh (buffered, full)
//	writeLog:      the only consumer; locks rotateMu for each message
//	rotate:        locked rotateMu, then waits on rotateDone, which nobody sends to
//
//	shutdown:      flushWG.Wait()
//	flusher:       would call flushWG.Done (deferred); locks statsMu
//	report:        locked statsMu, then waits on statsReady, which nobody sends to
//
//	takeJob:       jobsCond.Wait()
//	produceJobs:   its loop signals jobsCond; waits on jobSrc, which nobody sends to
//
//	auditor:       locked auditMu, sends more than auditCh holds
//	auditSink:     auditCh's only consumer; locks auditMu for each value: a cycle
//
// With CHANG_HEALTHY=1 the same goroutines contend, but every lock is let go within a few
// milliseconds: contention that moves, which is no finding.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var (
	logCh      = make(chan string, 64)
	rotateMu   sync.Mutex
	rotateDone = make(chan struct{})
	flushWG    sync.WaitGroup
	statsMu    sync.Mutex
	statsReady = make(chan int)
	jobsMu     sync.Mutex
	jobsCond   = sync.NewCond(&jobsMu)
	jobs       []int
	jobSrc     = make(chan int)
	auditCh    = make(chan int, 4)
	auditMu    sync.Mutex
	healthy    = os.Getenv("CHANG_HEALTHY") == "1"
	handlers   = 300
)

//go:noinline
func rotate(locked chan<- bool) {
	for {
		rotateMu.Lock()
		locked <- true
		if healthy {
			time.Sleep(time.Millisecond)
		} else {
			<-rotateDone
		}
		rotateMu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

//go:noinline
func writeLog() {
	n := 0
	for msg := range logCh {
		rotateMu.Lock()
		n += len(msg)
		rotateMu.Unlock()
	}
}

//go:noinline
func handle(id int) {
	for i := 0; ; i++ {
		logCh <- fmt.Sprintf("request %d line %d", id, i)
		if healthy {
			time.Sleep(time.Second)
		}
	}
}

//go:noinline
func report(locked chan<- bool) {
	for {
		statsMu.Lock()
		locked <- true
		if healthy {
			time.Sleep(time.Millisecond)
		} else {
			<-statsReady
		}
		statsMu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

//go:noinline
func flusher() {
	defer flushWG.Done()
	statsMu.Lock()
	statsMu.Unlock()
}

//go:noinline
func shutdown() {
	for {
		flushWG.Wait()
		if !healthy {
			return
		}
		flushWG.Add(1)
		go flusher()
	}
}

//go:noinline
func takeJob() {
	for {
		jobsMu.Lock()
		for len(jobs) == 0 {
			jobsCond.Wait()
		}
		jobs = jobs[1:]
		jobsMu.Unlock()
	}
}

//go:noinline
func produceJobs() {
	for {
		j := <-jobSrc
		jobsMu.Lock()
		jobs = append(jobs, j)
		jobsCond.Signal()
		jobsMu.Unlock()
	}
}

//go:noinline
func feedJobs() {
	for i := 0; ; i++ {
		jobSrc <- i
		time.Sleep(time.Millisecond)
	}
}

//go:noinline
func auditor() {
	for i := 0; ; i++ {
		auditMu.Lock()
		if healthy {
			// sends outside the lock: the sink, which locks it per value, keeps up
			auditMu.Unlock()
			auditCh <- i
			time.Sleep(time.Millisecond)
			continue
		}
		for k := 0; k < 8; k++ {
			auditCh <- i
		}
		auditMu.Unlock()
	}
}

//go:noinline
func auditSink() {
	n := 0
	for v := range auditCh {
		auditMu.Lock()
		n += v
		auditMu.Unlock()
	}
}

// settled: every goroutine of the chains sits in a wait (not running or runnable), and the
// log buffer is full, as runtime.Stack shows them.
func settled() bool {
	if healthy {
		return true
	}
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	blocked := map[string]int{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head := g
		if i := bytes.IndexByte(g, '\n'); i >= 0 {
			head = g[:i]
		}
		if bytes.Contains(head, []byte("running")) || bytes.Contains(head, []byte("runnable")) {
			continue
		}
		for _, fn := range []string{"main.handle(", "main.writeLog(", "main.rotate(", "main.flusher(", "main.shutdown(", "main.report(", "main.auditor(", "main.auditSink(", "main.takeJob(", "main.produceJobs("} {
			if bytes.Contains(g, []byte(fn)) {
				blocked[fn]++
			}
		}
	}
	return len(logCh) == cap(logCh) && blocked["main.handle("] == handlers && blocked["main.writeLog("] == 1 &&
		blocked["main.rotate("] == 1 && blocked["main.flusher("] == 1 && blocked["main.shutdown("] == 1 &&
		blocked["main.report("] == 1 && blocked["main.auditor("] == 1 && blocked["main.auditSink("] == 1 &&
		blocked["main.takeJob("] == 1 && blocked["main.produceJobs("] == 1
}

func main() {
	locked := make(chan bool)
	go rotate(locked)
	<-locked
	go report(locked)
	<-locked
	if healthy {
		go func() {
			for range locked {
			}
		}()
	}
	go writeLog()
	go takeJob()
	go produceJobs()
	if healthy {
		go feedJobs()
	}
	go auditSink()
	go auditor()
	for i := 0; i < handlers; i++ {
		go handle(i)
	}
	flushWG.Add(1)
	go flusher()
	go shutdown()
	for !settled() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("PID=%d\nREADY\n", os.Getpid())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	<-sigs
}
