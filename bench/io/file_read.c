// SPDX-License-Identifier: MIT
/*
 * bench/io/file_read.c: the C reference of io.file_read_mb_s: read(2) over
 * a file in 1 MB chunks until its end. Prints "mb_s V" (MB = 2^20 bytes,
 * timed from open to the last read) and "bytes N".
 *
 * usage: file_read PATH
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: file_read PATH\n");
		return 2;
	}
	char *buf = malloc(CHUNK);
	double t0 = now_s();
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		perror("file_read: open");
		return 1;
	}
	long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0) {
		perror("file_read: read");
		return 1;
	}
	close(fd);
	double t = now_s() - t0;
	printf("mb_s %.1f\nbytes %lld\n", (double)total / CHUNK / t, total);
	free(buf);
	return 0;
}
