// SPDX-License-Identifier: MIT

// bench/io/echo.go: the Go reference echo server of `make bench`: one
// goroutine per connection, the idiom Go is known for. Listens on
// 127.0.0.1 at the port given (0: any), prints the port first, and echoes
// what it reads in reads of at most 64 bytes (as the Smalltalk server's
// `nextAvailable: 64`). Built by the Makefile with Debian's golang-go,
// offline (standard library only).
package main

import (
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo-go:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	for {
		c, err := l.Accept()
		if err != nil {
			// EMFILE and the like: say so and keep serving
			fmt.Fprintln(os.Stderr, "echo-go: accept:", err)
			continue
		}
		go serve(c)
	}
}
