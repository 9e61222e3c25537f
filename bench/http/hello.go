// SPDX-License-Identifier: MIT

// bench/http/hello.go: the Go reference of the http rows of `make bench`:
// net/http answering every request with the same 64-byte text/plain body,
// what the Baton server of bench/http/hello.st answers. Listens on
// 127.0.0.1 at the port given (0: any) and prints the port first. Built by
// the Makefile with Debian's golang-go, offline (standard library only).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body := []byte(strings.Repeat("x", 64))
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	err = http.Serve(ln, nil)
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
