// SPDX-License-Identifier: MIT
/*
 * evio_stream.c: selftests of kif_evio on pipes, socketpairs and loopback
 * TCP: read, write, recv, send, accept (single and multishot), connect;
 * EOF, short reads, refused connections, reset peers, and 1,000
 * connections echoing through one loop. Every test runs on both backends.
 *
 * See Documentation/core/kernel-iface.md ("evio.h").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "selftests/harness.h"
#include "t_evio.h"

TEST_F(evio, pipe_read_waits_for_data)
{
	int p[2];
	char buf[16] = { 0 };
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, kif_evio_read(self->ev, 7, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	/* Nothing there yet: the read stays pending. */
	struct kif_evio_cqe c;
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, 0));
	ASSERT_EQ(5, write(p[1], "hello", 5));
	ASSERT_EQ(5, t_expect(self->ev, 7, 5, "read of a pipe after a write"));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	/* And through the loop in the other direction. */
	ASSERT_EQ(0, kif_evio_write(self->ev, 8, p[1], "world!", 6, KIF_EVIO_CUR_POS));
	ASSERT_EQ(6, t_expect(self->ev, 8, 5, "write to a pipe"));
	ASSERT_EQ(6, read(p[0], buf, sizeof buf));
	ASSERT_EQ(0, memcmp(buf, "world!", 6));
	close(p[0]);
	close(p[1]);
}

TEST_F(evio, pipe_short_read_and_eof)
{
	int p[2];
	char buf[100];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(10, write(p[1], "0123456789", 10));
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(10, t_expect(self->ev, 1, 5, "short read"));
	close(p[1]);
	ASSERT_EQ(0, kif_evio_read(self->ev, 2, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, t_expect(self->ev, 2, 5, "read at end of file"));
	close(p[0]);
}

/* Two reads in flight on one pipe: io_uring does not promise which is
 * served first (both wait on the same poll wake-up), epoll does. Either way
 * each gets one whole write and nothing is lost or mixed. The VM keeps one
 * read per stream in flight. */
TEST_F(evio, two_reads_on_one_pipe_split_the_data)
{
	int p[2];
	char a[4], b[4];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, p[0], a, sizeof a, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, kif_evio_read(self->ev, 2, p[0], b, sizeof b, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, kif_evio_flush(self->ev) < 0);
	ASSERT_EQ(8, write(p[1], "AAAABBBB", 8));
	int got = 0;
	while (got < 2) {
		struct kif_evio_cqe c = t_next(self->ev, 5, "two reads of one pipe");
		ASSERT_EQ(4, c.res);
		got++;
	}
	int ab = !memcmp(a, "AAAA", 4) && !memcmp(b, "BBBB", 4);
	int ba = !memcmp(a, "BBBB", 4) && !memcmp(b, "AAAA", 4);
	ASSERT_TRUE(ab || ba) TH_LOG("read 1: %.4s, read 2: %.4s", a, b);
	if (variant->backend == KIF_EVIO_EPOLL) {
		ASSERT_TRUE(ab) TH_LOG("epoll serves reads in order");
	}
	close(p[0]);
	close(p[1]);
}

TEST_F(evio, socketpair_recv_send)
{
	int sv[2];
	char buf[32];
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, kif_evio_recv(self->ev, 3, sv[0], buf, sizeof buf, 0));
	ASSERT_EQ(0, kif_evio_send(self->ev, 4, sv[1], "ping", 4, 0));
	int seen = 0;
	for (int i = 0; i < 2; i++) {
		struct kif_evio_cqe c = t_next(self->ev, 5, "recv and send on a socketpair");
		ASSERT_EQ(4, c.res);
		seen |= 1 << (c.tag - 3);
	}
	ASSERT_EQ(3, seen);
	ASSERT_EQ(0, memcmp(buf, "ping", 4));
	/* The peer goes away: recv sees the end of the stream. */
	close(sv[1]);
	ASSERT_EQ(0, kif_evio_recv(self->ev, 5, sv[0], buf, sizeof buf, 0));
	ASSERT_EQ(0, t_expect(self->ev, 5, 5, "recv after the peer closed"));
	/* And a send to it fails with EPIPE, not SIGPIPE. */
	ASSERT_EQ(0, kif_evio_send(self->ev, 6, sv[0], "x", 1, 0));
	ASSERT_EQ(-EPIPE, t_expect(self->ev, 6, 5, "send to a closed peer"));
	close(sv[0]);
}

TEST_F(evio, connect_to_closed_port_is_refused)
{
	int port = 0, l = t_listen(1, &port);
	ASSERT_LE(0, l);
	close(l); /* nothing listens on [port] any more */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	struct sockaddr_in a = t_addr(port);
	ASSERT_EQ(0, kif_evio_connect(self->ev, 9, s, (struct sockaddr *)&a, sizeof a));
	ASSERT_EQ(-ECONNREFUSED, t_expect(self->ev, 9, 5, "connect to a closed port"));
	close(s);
}

TEST_F(evio, accept_and_connect_through_the_loop)
{
	int port = 0, l = t_listen(8, &port);
	ASSERT_LE(0, l);
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	ASSERT_EQ(0, kif_evio_accept(self->ev, 1, l, (struct sockaddr *)&peer, &plen,
				     SOCK_CLOEXEC, 0));
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	struct sockaddr_in a = t_addr(port);
	ASSERT_EQ(0, kif_evio_connect(self->ev, 2, s, (struct sockaddr *)&a, sizeof a));
	int conn = -1, connected = 0;
	for (int i = 0; i < 2; i++) {
		struct kif_evio_cqe c = t_next(self->ev, 5, "accept and connect");
		if (c.tag == 1) {
			ASSERT_LE(0, c.res) TH_LOG("accept: %s", strerror(-c.res));
			conn = c.res;
		} else {
			ASSERT_EQ(2u, c.tag);
			ASSERT_EQ(0, c.res) TH_LOG("connect: %s", strerror(-c.res));
			connected = 1;
		}
	}
	ASSERT_TRUE(connected);
	ASSERT_EQ(AF_INET, peer.sin_family);
	ASSERT_EQ(htonl(INADDR_LOOPBACK), peer.sin_addr.s_addr);
	/* The connection works both ways. */
	char buf[8];
	ASSERT_EQ(0, kif_evio_send(self->ev, 3, s, "abc", 3, 0));
	ASSERT_EQ(3, t_expect(self->ev, 3, 5, "send on the connected socket"));
	ASSERT_EQ(0, kif_evio_recv(self->ev, 4, conn, buf, sizeof buf, 0));
	ASSERT_EQ(3, t_expect(self->ev, 4, 5, "recv on the accepted socket"));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_EQ(0, kif_evio_close_fd(self->ev, 5, conn));
	ASSERT_EQ(0, t_expect(self->ev, 5, 5, "close of the accepted socket"));
	ASSERT_EQ(0, kif_evio_recv(self->ev, 6, s, buf, sizeof buf, 0));
	ASSERT_EQ(0, t_expect(self->ev, 6, 5, "EOF after the peer's close"));
	close(s);
	close(l);
}

TEST_F(evio, peer_reset_is_reported)
{
	int port = 0, l = t_listen(8, &port);
	ASSERT_LE(0, l);
	int c = t_dial(port);
	ASSERT_LE(0, c);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, s);
	char buf[16];
	ASSERT_EQ(0, kif_evio_recv(self->ev, 1, s, buf, sizeof buf, 0));
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &(struct kif_evio_cqe){ 0 }, 1, 0));
	/* An abortive close: linger 0 sends a RST instead of a FIN. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	close(c);
	ASSERT_EQ(-ECONNRESET, t_expect(self->ev, 1, 5, "recv while the peer resets"));
	ASSERT_EQ(0, kif_evio_send(self->ev, 2, s, "x", 1, 0));
	int32_t r = t_expect(self->ev, 2, 5, "send after the reset");
	ASSERT_TRUE(r == -EPIPE || r == -ECONNRESET) TH_LOG("send: %d", r);
	close(s);
	close(l);
}

static void multishot_accept(struct __test_metadata *_metadata, struct kif_evio *ev)
{
	enum { N = 20 };
	int port = 0, l = t_listen(N, &port), clients[N];
	ASSERT_LE(0, l);
	ASSERT_EQ(0, kif_evio_accept(ev, 77, l, NULL, NULL, SOCK_CLOEXEC, KIF_EVIO_MULTISHOT));
	ASSERT_EQ(0, kif_evio_flush(ev) < 0);
	for (int i = 0; i < N; i++) {
		clients[i] = t_dial(port);
		ASSERT_LE(0, clients[i]);
	}
	for (int i = 0; i < N; i++) {
		struct kif_evio_cqe c = t_next(ev, 5, "a connection from the multishot accept");
		ASSERT_EQ(77u, c.tag);
		ASSERT_LE(0, c.res) TH_LOG("accept: %s", strerror(-c.res));
		ASSERT_EQ(KIF_EVIO_MORE, c.flags);
		close(c.res);
	}
	/* Still armed: cancelling ends it with a last completion. */
	ASSERT_EQ(1, kif_evio_cancel(ev, 77));
	struct kif_evio_cqe c = t_next(ev, 5, "the end of the multishot accept");
	ASSERT_EQ(77u, c.tag);
	ASSERT_EQ(-ECANCELED, c.res);
	ASSERT_EQ(0u, c.flags);
	struct kif_evio_stats st;
	kif_evio_stats(ev, &st);
	ASSERT_EQ(0u, st.pending);
	for (int i = 0; i < N; i++)
		close(clients[i]);
	close(l);
}

TEST_F(evio, multishot_accept)
{
	multishot_accept(_metadata, self->ev);
}

TEST(multishot_accept_emulated_on_uring)
{
	struct kif_evio *ev;
	char why[160];
	int r = t_open(&ev, KIF_EVIO_URING, 0, KIF_EVIO_OPT_NO_MULTISHOT, why, sizeof why);
	if (r < 0)
		SKIP(return, "io_uring backend unavailable: %s", why);
	multishot_accept(_metadata, ev);
	kif_evio_close(ev);
}

/* ---- 1,000 connections echoing through one loop ---------------------- */

enum { NCONN = 1000, MSG = 200 };

struct clients {
	int port;
	int failed;
	char why[256];
};

static void pattern(unsigned idx, unsigned char *buf)
{
	for (unsigned j = 0; j < MSG; j++)
		buf[j] = (unsigned char)(idx * 31 + j * 7 + (idx >> 8));
}

static void *client_main(void *arg)
{
	struct clients *cl = arg;
	static int fds[NCONN];
	unsigned char want[MSG], got[MSG];
	struct timeval tv = { .tv_sec = 10 };
	for (int i = 0; i < NCONN; i++) {
		fds[i] = t_dial(cl->port);
		if (fds[i] < 0) {
			snprintf(cl->why, sizeof cl->why, "connect %d: %s", i, strerror(errno));
			goto fail;
		}
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	for (int i = 0; i < NCONN; i++) {
		pattern((unsigned)i, want);
		if (send(fds[i], want, MSG, MSG_NOSIGNAL) != MSG) {
			snprintf(cl->why, sizeof cl->why, "send %d: %s", i, strerror(errno));
			goto fail;
		}
	}
	for (int i = 0; i < NCONN; i++) {
		pattern((unsigned)i, want);
		ssize_t n = recv(fds[i], got, MSG, MSG_WAITALL);
		if (n != MSG || memcmp(want, got, MSG)) {
			snprintf(cl->why, sizeof cl->why,
				 "connection %d: echo of %zd bytes (want %d)%s", i, n, MSG,
				 n == MSG ? ", wrong bytes" : n < 0 ? ", timed out" : "");
			goto fail;
		}
		close(fds[i]);
	}
	return NULL;
fail:
	cl->failed = 1;
	return NULL;
}

struct conn {
	int fd;
	unsigned char buf[MSG];
	unsigned len, sent;
};

#define TAG_ACCEPT (1ull << 40)
#define TAG(i, k) (((uint64_t)(i) << 2) | (k))
enum { K_RECV, K_SEND, K_CLOSE };

TEST_F_TIMEOUT(evio, echo_1000_connections, 60)
{
	static struct conn conns[NCONN];
	struct clients cl = { 0 };
	int fds_before = t_count_fds();
	int l = t_listen(NCONN + 24, &cl.port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, kif_evio_accept(self->ev, TAG_ACCEPT, l, NULL, NULL, SOCK_CLOEXEC,
				     KIF_EVIO_MULTISHOT));
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, client_main, &cl));
	int accepted = 0, closed = 0;
	uint64_t bytes = 0;
	struct kif_evio_cqe cq[64];
	uint64_t deadline = kif_now_ns() + 40 * T_NS_PER_S;
	while (closed < NCONN) {
		int n = kif_evio_wait(self->ev, cq, 64, deadline);
		if (n == -ETIME)
			break;
		ASSERT_LE(0, n) TH_LOG("kif_evio_wait: %s", strerror(-n));
		for (int k = 0; k < n; k++) {
			struct kif_evio_cqe *c = &cq[k];
			if (c->tag == TAG_ACCEPT) {
				ASSERT_LE(0, c->res) TH_LOG("accept: %s", strerror(-c->res));
				ASSERT_LT(accepted, NCONN);
				struct conn *cn = &conns[accepted];
				cn->fd = c->res;
				ASSERT_EQ(0, kif_evio_recv(self->ev, TAG(accepted, K_RECV), cn->fd,
							   cn->buf, MSG, 0));
				accepted++;
				if (!(c->flags & KIF_EVIO_MORE)) { /* the kernel ended it */
					ASSERT_EQ(0, kif_evio_accept(self->ev, TAG_ACCEPT, l, NULL,
								     NULL, SOCK_CLOEXEC,
								     KIF_EVIO_MULTISHOT));
				}
				continue;
			}
			unsigned i = (unsigned)(c->tag >> 2);
			struct conn *cn = &conns[i];
			switch (c->tag & 3) {
			case K_RECV:
				ASSERT_LE(0, c->res) TH_LOG("recv %u: %s", i, strerror(-c->res));
				if (c->res == 0) { /* the client closed */
					ASSERT_EQ(0, kif_evio_close_fd(self->ev, TAG(i, K_CLOSE),
								       cn->fd));
					continue;
				}
				cn->len = (unsigned)c->res;
				cn->sent = 0;
				bytes += cn->len;
				ASSERT_EQ(0, kif_evio_send(self->ev, TAG(i, K_SEND), cn->fd,
							   cn->buf, cn->len, 0));
				break;
			case K_SEND:
				ASSERT_LT(0, c->res) TH_LOG("send %u: %s", i, strerror(-c->res));
				cn->sent += (unsigned)c->res;
				if (cn->sent < cn->len) { /* a short send: the rest */
					ASSERT_EQ(0, kif_evio_send(self->ev, TAG(i, K_SEND), cn->fd,
								   cn->buf + cn->sent,
								   cn->len - cn->sent, 0));
				} else {
					ASSERT_EQ(0, kif_evio_recv(self->ev, TAG(i, K_RECV),
								   cn->fd, cn->buf, MSG, 0));
				}
				break;
			case K_CLOSE:
				ASSERT_EQ(0, c->res);
				closed++;
				break;
			}
		}
	}
	pthread_join(th, NULL);
	ASSERT_FALSE(cl.failed) TH_LOG("client: %s", cl.why);
	ASSERT_EQ(NCONN, accepted);
	ASSERT_EQ(NCONN, closed) TH_LOG("only %d of %d connections ended in 40 s", closed, NCONN);
	ASSERT_EQ((uint64_t)NCONN * MSG, bytes);
	ASSERT_EQ(1, kif_evio_cancel(self->ev, TAG_ACCEPT));
	struct kif_evio_cqe c = t_next(self->ev, 5, "the end of the multishot accept");
	ASSERT_EQ(-ECANCELED, c.res);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.pending);
	close(l);
	ASSERT_EQ(fds_before, t_count_fds()) TH_LOG("descriptors left open");
}

TEST_HARNESS_MAIN
