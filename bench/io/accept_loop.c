// SPDX-License-Identifier: MIT
/*
 * bench/io/accept_loop.c: connections per second against an echo server.
 *
 * In a loop for -d seconds: connect, send one 64-byte message, read its
 * echo, close. One connection at a time (closed loop), so the number is
 * what one accept-serve-close cycle of the server costs. Prints
 * "accept_per_s V". Sources rotate over 127.0.0.1 .. 127.0.0.A (-a), with
 * the port picked at connect time, so that the TIME_WAIT sockets a client
 * that closes first leaves behind never exhaust the ephemeral ports.
 *
 * usage: accept_loop -p PORT [-d SECONDS] [-a ADDRS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIZE 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "accept_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One cycle: connect, one message, its echo, close. */
static void cycle(int port, uint32_t src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(src);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	char buf[SIZE];
	memset(buf, 'a', sizeof buf);
	if (write(fd, buf, SIZE) != SIZE)
		die("write");
	for (int got = 0; got < SIZE;) {
		ssize_t n = read(fd, buf, (size_t)(SIZE - got));
		if (n <= 0) {
			errno = n ? errno : ECONNRESET;
			die("read (server closed?)");
		}
		got += (int)n;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int port = 0, naddr = 16, o;
	double secs = 1;
	while ((o = getopt(argc, argv, "p:d:a:")) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'a': naddr = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: accept_loop -p PORT [-d SECONDS] [-a ADDRS]\n");
			return 2;
		}
	}
	if (port <= 0 || naddr < 1 || naddr > 250) {
		fprintf(stderr, "accept_loop: bad arguments\n");
		return 2;
	}
	double t0 = now_s(), end = t0 + secs, t;
	long n = 0;
	do
		cycle(port, 0x7f000001u + (uint32_t)(n++ % naddr));
	while ((t = now_s()) < end);
	printf("accept_per_s %.1f\n", (double)n / (t - t0));
	return 0;
}
