// Scenario mutexbusy: healthy contention. 64 goroutines take one sync.Mutex in a loop,
// do a little work under it and let it go; at any moment many of them are parked in
// Lock, but every one of them gets the lock again within microseconds. Prints READY once
// every worker has taken the lock at least once.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

const workers = 64

var (
	statsMu sync.Mutex
	stats   = map[int]int{}
	started atomic.Int32
)

//go:noinline
func record(id int) {
	statsMu.Lock()
	for i := 0; i < 200; i++ {
		stats[id] += i
	}
	statsMu.Unlock()
}

func worker(id int, first *sync.WaitGroup) {
	record(id)
	first.Done()
	for {
		record(id)
	}
}

func main() {
	var first sync.WaitGroup
	first.Add(workers)
	for i := 0; i < workers; i++ {
		go worker(i, &first)
	}
	first.Wait()
	fmt.Println("READY")
	select {}
}
