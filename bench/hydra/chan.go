// SPDX-License-Identifier: MIT

// bench/hydra/chan.go: the Go reference of hydra.msgs_per_s in `make bench`:
// a one-way stream of N 16-byte strings through a buffered channel (65,536
// slots, the capacity of a Hydra head's inbox) from one goroutine to
// another, each locked to its own OS thread, GOMAXPROCS=2, both busy for the
// whole run. Timed from the first send to the last receive. Prints
// "msgs_per_s V" (the same string each time, what the channel is known for:
// only the string header moves) and "msgs_per_s_fresh V" (a new 16-byte
// string per message, one allocation and copy as a Hydra send makes), then
// "msgs N" (what arrived, each checked to be 16 bytes). Usage: chan-go [N]
// (default 1000000). Built by the Makefile with Debian's golang-go, offline
// (standard library only).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// stream sends n strings through a fresh channel and answers messages per
// second and how many arrived with 16 bytes.
func stream(n int, fresh bool) (float64, int) {
	ch := make(chan string, 65536)
	start := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		b := []byte("0123456789abcdef")
		s := string(b)
		<-start
		for i := 0; i < n; i++ {
			if fresh {
				ch <- string(b) // a new 16-byte string each time
			} else {
				ch <- s
			}
		}
	}()
	good := 0
	t0 := time.Now()
	close(start)
	for i := 0; i < n; i++ {
		if len(<-ch) == 16 {
			good++
		}
	}
	dt := time.Since(t0).Seconds()
	return float64(n) / dt, good
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 1 {
			fmt.Fprintln(os.Stderr, "usage: chan-go [N >= 1]")
			os.Exit(2)
		}
		n = v
	}
	runtime.GOMAXPROCS(2)
	runtime.LockOSThread() // the receiver: main, on its own thread
	same, g1 := stream(n, false)
	fresh, g2 := stream(n, true)
	fmt.Printf("msgs_per_s %.0f\nmsgs_per_s_fresh %.0f\nmsgs %d\n", same, fresh, min(g1, g2))
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
