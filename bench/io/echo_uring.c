// SPDX-License-Identifier: MIT
/*
 * bench/io/echo_uring.c: the C liburing reference echo server of `make bench`
 * (liburing 2.3 API).
 *
 * One thread, one ring. A multishot accept (re-armed when the kernel ends
 * it) yields connections; each connection has exactly one operation in
 * flight: a recv of at most 64 bytes (as the Smalltalk server's
 * `nextAvailable: 64`), then a send of what came, then the next recv. Listens
 * on 127.0.0.1 at the port given (0: any) and prints the port first.
 * The ring asks for SINGLE_ISSUER | DEFER_TASKRUN (completions are worked
 * off only when we wait) and falls back to a plain ring on older kernels.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 64
#define SQ_ENTRIES 4096
#define CQ_ENTRIES 32768

enum { OP_RECV = 1, OP_SEND = 2 };

struct conn {
	int fd;
	unsigned len, off;
	char buf[CHUNK];
};

static struct io_uring ring;

static void die(const char *what, int err)
{
	fprintf(stderr, "echo_uring: %s: %s\n", what, strerror(err));
	exit(1);
}

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	while (!s) { /* the queue is full: hand it to the kernel */
		int r = io_uring_submit(&ring);
		if (r < 0)
			die("io_uring_submit", -r);
		s = io_uring_get_sqe(&ring);
	}
	return s;
}

static void want_accept(int lfd)
{
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(s, 0);
}

static void want_recv(struct conn *c)
{
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_recv(s, c->fd, c->buf, CHUNK, 0);
	io_uring_sqe_set_data64(s, (uint64_t)(uintptr_t)c | OP_RECV);
}

static void want_send(struct conn *c)
{
	struct io_uring_sqe *s = sqe_get();
	io_uring_prep_send(s, c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(s, (uint64_t)(uintptr_t)c | OP_SEND);
}

static void drop(struct conn *c)
{
	close(c->fd);
	free(c);
}

static void accepted(int lfd, struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		want_accept(lfd); /* the multishot ended (an error, or overflow) */
	if (cqe->res < 0) {
		if (cqe->res != -ECONNABORTED && cqe->res != -EINTR)
			fprintf(stderr, "echo_uring: accept: %s\n", strerror(-cqe->res));
		return;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		die("calloc", errno);
	int one = 1;
	c->fd = cqe->res;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	want_recv(c);
}

static void completed(struct conn *c, int op, int res)
{
	if (res <= 0)
		return drop(c); /* end of stream, reset, ... */
	if (op == OP_RECV) {
		c->len = (unsigned)res;
		c->off = 0;
		return want_send(c);
	}
	c->off += (unsigned)res;
	if (c->off < c->len)
		return want_send(c); /* a short send: the rest */
	want_recv(c);
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		die("listen", errno);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void ring_open(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = CQ_ENTRIES };
	p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	int r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof p);
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = CQ_ENTRIES;
		r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
	}
	if (r < 0)
		die("io_uring_queue_init", -r);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
	ring_open();
	want_accept(lfd);
	for (;;) {
		int r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR)
			die("io_uring_submit_and_wait", -r);
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t ud = cqe->user_data;
			n++;
			if (!ud)
				accepted(lfd, cqe);
			else
				completed((struct conn *)(uintptr_t)(ud & ~(uint64_t)3), (int)(ud & 3),
					  cqe->res);
		}
		io_uring_cq_advance(&ring, n);
	}
}
