// Scenario deep: goroutines blocked below deep recursion, so that the profile's depth
// limit (32 PCs up to Go 1.22, 128 from 1.23) decides what is printed and how they group,
// plus an inlined frame at the cut.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"
)

var block = make(chan int)

//go:noinline
func recurse(n int) int {
	if n == 0 {
		return <-block
	}
	return recurse(n-1) + 1
}

func leaf() int { return <-block } // small enough to be inlined into its caller

//go:noinline
func recurseInl(n int) int {
	if n == 0 {
		return leaf()
	}
	return recurseInl(n-1) + 1
}

func main() {
	for _, d := range []int{5, 31, 40, 140} {
		go recurse(d)
		go recurse(d)
	}
	go recurseInl(30)
	go recurseInl(200)
	serveAndDump(time.Second)
}

// ---- oracle plumbing (identical in every scenario) ----

// serveAndDump starts net/http/pprof on 127.0.0.1:0, waits for the
// scenario to settle, writes the runtime's own goroutine profiles into
// $ORACLE_DIR and then rewrites them on every SIGUSR1. It never returns.
func serveAndDump(settle time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("PID=%d\nPORT=%d\n", os.Getpid(), ln.Addr().(*net.TCPAddr).Port)
	go http.Serve(ln, nil) // DefaultServeMux has /debug/pprof/ via the blank import

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)

	// Label this goroutine (after the goroutines above were started, since
	// labels are inherited): it is the only goroutine whose stack differs
	// between the oracle (written while it runs) and any later external
	// snapshot (where it waits on sigs). Comparisons drop this label group.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("chang_oracle", "writer")))

	dir := os.Getenv("ORACLE_DIR")
	if dir == "" {
		dir = "."
	}
	time.Sleep(settle)
	writeOracle(dir)
	fmt.Println("READY")
	for range sigs {
		writeOracle(dir)
		fmt.Println("DUMPED")
	}
}

func writeOracle(dir string) {
	for _, o := range []struct {
		name  string
		debug int
	}{{"goroutine.debug1.txt", 1}, {"goroutine.debug2.txt", 2}, {"goroutine.pb.gz", 0}} {
		f, err := os.Create(filepath.Join(dir, o.name))
		if err != nil {
			panic(err)
		}
		if err := pprof.Lookup("goroutine").WriteTo(f, o.debug); err != nil {
			panic(err)
		}
		f.Close()
	}
}
