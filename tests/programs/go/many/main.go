// Scenario many: N goroutines (default 100000) blocked in a few common ways, for measuring
// how long chang pauses a large Go process.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

var events = make(chan int, 1024)
var mu sync.Mutex

//go:noinline
func publish(i int) {
	for {
		events <- i
	}
}

//go:noinline
func locker() {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func sleeper() { time.Sleep(24 * time.Hour) }

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	mu.Lock()
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0, 1:
			go publish(i)
		case 2:
			go locker()
		default:
			go sleeper()
		}
	}
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("PID=%d\nREADY\n", os.Getpid())
	select {}
}
