// SPDX-License-Identifier: MIT
/*
 * t_evio.h: the fixture and helpers shared by the evio_* selftests.
 *
 * Owns the "evio" fixture with one variant per backend (uring, epoll), so
 * that every test runs against both, and bounded waits that name what did
 * not happen. Test code only; include after selftests/harness.h.
 */
#ifndef T_EVIO_H
#define T_EVIO_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/evio.h"

#define T_NS_PER_S 1000000000ull

FIXTURE(evio) {
	struct kif_evio *ev;
};

FIXTURE_VARIANT(evio) {
	int backend;
	unsigned entries;
	unsigned flags;
};

FIXTURE_VARIANT_ADD(evio, uring) {
	.backend = KIF_EVIO_URING,
};

FIXTURE_VARIANT_ADD(evio, epoll) {
	.backend = KIF_EVIO_EPOLL,
};

static inline int t_open(struct kif_evio **ev, int backend, unsigned entries, unsigned flags,
			 char *why, unsigned why_len)
{
	struct kif_evio_opts o = { .backend = backend, .entries = entries, .flags = flags };
	return kif_evio_open(ev, &o, why, why_len);
}

FIXTURE_SETUP(evio)
{
	char why[160] = "";
	unsetenv("BATON_URING");
	int r = t_open(&self->ev, variant->backend, variant->entries, variant->flags, why,
		       sizeof why);
	if (r < 0 && variant->backend == KIF_EVIO_URING)
		SKIP(return, "io_uring backend unavailable: %s (%s)", why, strerror(-r));
	ASSERT_EQ(0, r) TH_LOG("kif_evio_open: %s %s", strerror(-r), why);
}

FIXTURE_TEARDOWN(evio)
{
	kif_evio_close(self->ev);
	self->ev = NULL;
}

/* The next completion, waiting at most [secs]. */
static inline struct kif_evio_cqe t_next_(struct __test_metadata *_metadata, struct kif_evio *ev,
					  unsigned secs, const char *what)
{
	struct kif_evio_cqe c = { 0 };
	uint64_t deadline = kif_now_ns() + secs * T_NS_PER_S;
	for (;;) {
		int r = kif_evio_wait(ev, &c, 1, deadline);
		if (r == 1)
			return c;
		ASSERT_NE(-ETIME, r) TH_LOG("no completion for %s within %u s", what, secs);
		ASSERT_EQ(0, r) TH_LOG("kif_evio_wait: %s", strerror(-r));
		/* 0: a wake: look again */
	}
}
#define t_next(ev, secs, what) t_next_(_metadata, (ev), (secs), (what))

/* The completion of [tag], which must be the next one; its result. */
static inline int32_t t_expect_(struct __test_metadata *_metadata, struct kif_evio *ev,
				uint64_t tag, unsigned secs, const char *what)
{
	struct kif_evio_cqe c = t_next_(_metadata, ev, secs, what);
	ASSERT_EQ(tag, c.tag) TH_LOG("%s: another completion came first (res %d)", what, c.res);
	return c.res;
}
#define t_expect(ev, tag, secs, what) t_expect_(_metadata, (ev), (tag), (secs), (what))

/* A listening TCP socket on 127.0.0.1, any port; its port in *port. */
static inline int t_listen(int backlog, int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, backlog) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) < 0) {
		close(s);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

static inline struct sockaddr_in t_addr(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

/* A TCP socket on 127.0.0.1 connected to [port], blocking connect. */
static inline int t_dial(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = t_addr(port);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Open descriptors of this process (for "nothing leaks"). */
static inline int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif /* T_EVIO_H */
