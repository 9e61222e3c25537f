// SPDX-License-Identifier: MIT
/*
 * bench/io/echo_epoll.c: the C epoll reference echo server of `make bench`.
 *
 * One thread, level-triggered epoll, non-blocking sockets. Listens on
 * 127.0.0.1 at the port given (0: any), prints the port on the first line
 * of stdout, then echoes every byte back on the connection it came from.
 * Reads take at most 64 bytes, as the Smalltalk server's `nextAvailable:
 * 64` does. Bytes the socket would not take are kept and sent on EPOLLOUT,
 * so nothing is dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 64

struct conn {
	int fd;
	unsigned len, off; /* bytes waiting to be written back */
	char buf[CHUNK];
};

static void die(const char *what)
{
	fprintf(stderr, "echo_epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
				perror("echo_epoll: accept");
			return;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c)
			die("calloc");
		c->fd = fd;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
}

/* Writes what is pending; answers -1 when the connection is gone. */
static int flush_conn(int ep, struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);
		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return 0;
		}
		if (n < 0)
			return -1;
		c->off += (unsigned)n;
	}
	c->off = c->len = 0;
	return 0;
}

static void serve(int ep, struct conn *c, unsigned events)
{
	if (c->len) { /* was waiting for room to write */
		if (flush_conn(ep, c) < 0)
			return drop(ep, c);
		if (c->len)
			return;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(c->fd, c->buf, CHUNK);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		return drop(ep, c);
	c->len = (unsigned)n;
	c->off = 0;
	if (flush_conn(ep, c) < 0)
		drop(ep, c);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0)
		die("epoll");
	struct epoll_event ev[256];
	for (;;) {
		int n = epoll_wait(ep, ev, 256, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				accept_all(ep, lfd);
			else
				serve(ep, ev[i].data.ptr, ev[i].events);
		}
	}
}
