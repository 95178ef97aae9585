// Scenario stuckclient: an HTTP client whose upstream never answers. The upstream's
// address is the first argument (the test's own listener, which accepts and stays
// silent); 8 goroutines each GET a page from it over a connection of their own and wait for
// the answer. Prints READY once the requests are under way; the test then waits until its
// listener has accepted all 8 connections.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const requests = 8

//go:noinline
func fetchReport(client *http.Client, url string) {
	resp, err := client.Get(url)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: stuckclient HOST:PORT")
		os.Exit(2)
	}
	// one connection per request: no idle pooled connection is reused
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	for i := 0; i < requests; i++ {
		go fetchReport(client, fmt.Sprintf("http://%s/report/%d", os.Args[1], i))
	}
	fmt.Println("READY")
	for {
		time.Sleep(time.Hour)
	}
}
