// Scenario mutexheld: a real sync.Mutex hang. One goroutine locks configMu and never
// unlocks it (it waits forever on a channel nobody closes); 50 goroutines then block in
// configMu.Lock. Prints READY once all 50 are parked in the mutex (from its own
// goroutine profile), so the test looks at the settled hang. With the argument "trickle",
// a new lookup arrives every 5 ms after that, as requests keep reaching a hung server:
// the mutex's state word keeps changing while the first 50 stay where they are.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

const waiters = 50

var (
	configMu sync.Mutex
	forever  = make(chan struct{})
	config   = map[string]string{}
)

//go:noinline
func reload() {
	configMu.Lock()
	<-forever // holds configMu for good
	configMu.Unlock()
}

//go:noinline
func lookup(key string) string {
	configMu.Lock()
	defer configMu.Unlock()
	return config[key]
}

// parkedInLock counts goroutines whose stack is in lookup and parked in the mutex.
func parkedInLock() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "[sync.Mutex.Lock") || strings.Contains(g, "[semacquire") {
			if strings.Contains(g, "main.lookup") {
				count++
			}
		}
	}
	return count
}

func main() {
	// a sleeper keeps Go's own "all goroutines are asleep" check from ending the program
	go func() {
		for {
			time.Sleep(time.Hour)
		}
	}()
	go reload()
	for configMu.TryLock() {
		configMu.Unlock() // reload has not locked it yet
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < waiters; i++ {
		go lookup(fmt.Sprint("key", i))
	}
	for deadline := time.Now().Add(20 * time.Second); parkedInLock() < waiters; {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "the waiters did not park")
			os.Exit(1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("READY")
	if len(os.Args) > 1 && os.Args[1] == "trickle" {
		for i := 0; ; i++ {
			time.Sleep(5 * time.Millisecond)
			go lookup(fmt.Sprint("late", i))
		}
	}
	select {}
}
