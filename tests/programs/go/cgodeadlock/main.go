// Scenario cgodeadlock: two goroutines inside C calls deadlock on two C mutexes (AB-BA);
// the owner fields of glibc's mutexes prove it, on the threads the calls run on. With
// CHANG_HEALTHY=1 both take the locks in one order, briefly, again and again: no finding.
package main

/*
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void init_barrier(void) { pthread_barrier_init(&both, NULL, 2); }

static void update_table(void)
{
	pthread_mutex_lock(&table_lock);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&index_lock);
	pthread_mutex_unlock(&index_lock);
	pthread_mutex_unlock(&table_lock);
}

static void rebuild_index(void)
{
	pthread_mutex_lock(&index_lock);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&table_lock);
	pthread_mutex_unlock(&table_lock);
	pthread_mutex_unlock(&index_lock);
}

static void churn(void)
{
	for (;;) {
		pthread_mutex_lock(&table_lock);
		pthread_mutex_lock(&index_lock);
		usleep(100);
		pthread_mutex_unlock(&index_lock);
		pthread_mutex_unlock(&table_lock);
		usleep(100);
	}
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

//go:noinline
func updateTable() { C.update_table() }

//go:noinline
func rebuildIndex() { C.rebuild_index() }

//go:noinline
func churn() { C.churn() }

func main() {
	C.init_barrier()
	if os.Getenv("CHANG_HEALTHY") == "1" {
		go churn()
		go churn()
		fmt.Printf("PID=%d\nREADY\n", os.Getpid())
		select {}
	}
	go updateTable()
	go rebuildIndex()
	// the two C calls block in the kernel: wait until two threads sleep in futex(2) on a
	// contended glibc mutex (value 2; the Go runtime's own futex sleeps wait on 0)
	for {
		n := 0
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/syscall")
			f := strings.Fields(string(b))
			if err == nil && len(f) > 3 && f[0] == "202" && f[3] == "0x2" {
				n++
			}
		}
		if n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("PID=%d\nREADY\n", os.Getpid())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	<-sigs
}
