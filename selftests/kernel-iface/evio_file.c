// SPDX-License-Identifier: MIT
/*
 * evio_file.c: selftests of kif_evio on files in a fresh directory:
 * openat, write, fsync, statx, read (positioned and at the file position),
 * close; a short read at the end of a file, reading a directory, writing a
 * read-only descriptor, missing paths. Every test runs on both backends.
 *
 * See Documentation/core/kernel-iface.md ("evio.h").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "selftests/harness.h"
#include "t_evio.h"

static char dir[64];

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
}

/* A fresh directory per test (each test is its own process). */
static int tmpdir(void)
{
	snprintf(dir, sizeof dir, "/tmp/evio_file.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	atexit(cleanup);
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int open_through(struct __test_metadata *_metadata, struct kif_evio *ev, int dfd,
			const char *name, int flags)
{
	ASSERT_EQ(0, kif_evio_openat(ev, 100, dfd, name, flags | O_CLOEXEC, 0600));
	return t_expect(ev, 100, 5, "openat");
}

TEST_F(evio, create_write_fsync_statx_read_close)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	int fd = open_through(_metadata, self->ev, d, "f", O_CREAT | O_RDWR | O_TRUNC);
	ASSERT_LE(0, fd) TH_LOG("openat: %s", strerror(-fd));
	static char big[100000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 13);
	/* A write is reported as a count; loop as a caller must. */
	size_t off = 0;
	while (off < sizeof big) {
		ASSERT_EQ(0, kif_evio_write(self->ev, 1, fd, big + off,
					    (unsigned)(sizeof big - off), (int64_t)off));
		int32_t n = t_expect(self->ev, 1, 5, "write to a file");
		ASSERT_LT(0, n) TH_LOG("write: %s", strerror(-n));
		off += (size_t)n;
	}
	ASSERT_EQ(0, kif_evio_fsync(self->ev, 2, fd, 0));
	ASSERT_EQ(0, t_expect(self->ev, 2, 5, "fsync"));
	ASSERT_EQ(0, kif_evio_fsync(self->ev, 3, fd, KIF_EVIO_DATASYNC));
	ASSERT_EQ(0, t_expect(self->ev, 3, 5, "fdatasync"));
	struct statx stx;
	memset(&stx, 0, sizeof stx);
	ASSERT_EQ(0, kif_evio_statx(self->ev, 4, d, "f", 0, STATX_SIZE | STATX_TYPE, &stx));
	ASSERT_EQ(0, t_expect(self->ev, 4, 5, "statx"));
	ASSERT_EQ(sizeof big, stx.stx_size);
	ASSERT_TRUE(S_ISREG(stx.stx_mode));
	static char back[sizeof big];
	off = 0;
	while (off < sizeof back) {
		ASSERT_EQ(0, kif_evio_read(self->ev, 5, fd, back + off,
					   (unsigned)(sizeof back - off), (int64_t)off));
		int32_t n = t_expect(self->ev, 5, 5, "read of a file");
		ASSERT_LT(0, n) TH_LOG("read: %s", strerror(-n));
		off += (size_t)n;
	}
	ASSERT_EQ(0, memcmp(big, back, sizeof big));
	ASSERT_EQ(0, kif_evio_close_fd(self->ev, 6, fd));
	ASSERT_EQ(0, t_expect(self->ev, 6, 5, "close"));
	ASSERT_EQ(-1, fcntl(fd, F_GETFD));
	close(d);
}

TEST_F(evio, short_read_at_end_of_file)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	int fd = openat(d, "ten", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(10, write(fd, "0123456789", 10));
	char buf[100];
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, fd, buf, sizeof buf, 4));
	ASSERT_EQ(6, t_expect(self->ev, 1, 5, "read across the end"));
	ASSERT_EQ(0, memcmp(buf, "456789", 6));
	ASSERT_EQ(0, kif_evio_read(self->ev, 2, fd, buf, sizeof buf, 10));
	ASSERT_EQ(0, t_expect(self->ev, 2, 5, "read at the end"));
	close(fd);
	close(d);
}

TEST_F(evio, file_position_advances)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	int fd = open_through(_metadata, self->ev, d, "pos", O_CREAT | O_RDWR | O_APPEND);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kif_evio_write(self->ev, 1, fd, "abc", 3, KIF_EVIO_CUR_POS));
	ASSERT_EQ(3, t_expect(self->ev, 1, 5, "first append"));
	ASSERT_EQ(0, kif_evio_write(self->ev, 2, fd, "def", 3, KIF_EVIO_CUR_POS));
	ASSERT_EQ(3, t_expect(self->ev, 2, 5, "second append"));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	char buf[8] = { 0 };
	ASSERT_EQ(0, kif_evio_read(self->ev, 3, fd, buf, 4, KIF_EVIO_CUR_POS));
	ASSERT_EQ(4, t_expect(self->ev, 3, 5, "read from the position"));
	ASSERT_EQ(0, kif_evio_read(self->ev, 4, fd, buf + 4, 4, KIF_EVIO_CUR_POS));
	ASSERT_EQ(2, t_expect(self->ev, 4, 5, "read from the advanced position"));
	ASSERT_STREQ("abcdef", buf);
	close(fd);
	close(d);
}

TEST_F(evio, reading_a_directory_is_eisdir)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	int fd = open_through(_metadata, self->ev, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	char buf[16];
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, fd, buf, sizeof buf, 0));
	ASSERT_EQ(-EISDIR, t_expect(self->ev, 1, 5, "read of a directory"));
	close(fd);
	close(d);
}

TEST_F(evio, errors_of_paths_and_modes)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	ASSERT_EQ(-ENOENT, open_through(_metadata, self->ev, d, "nope/x", O_RDONLY));
	struct statx stx;
	ASSERT_EQ(0, kif_evio_statx(self->ev, 1, d, "missing", 0, STATX_SIZE, &stx));
	ASSERT_EQ(-ENOENT, t_expect(self->ev, 1, 5, "statx of a missing file"));
	int fd = open_through(_metadata, self->ev, d, "ro", O_CREAT | O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kif_evio_write(self->ev, 2, fd, "x", 1, 0));
	ASSERT_EQ(-EBADF, t_expect(self->ev, 2, 5, "write to a read-only descriptor"));
	ASSERT_EQ(0, kif_evio_close_fd(self->ev, 3, fd));
	ASSERT_EQ(0, t_expect(self->ev, 3, 5, "close"));
	ASSERT_EQ(0, kif_evio_close_fd(self->ev, 4, fd));
	ASSERT_EQ(-EBADF, t_expect(self->ev, 4, 5, "close of a closed descriptor"));
	close(d);
}

/* Opens the FIFO for writing once [arg] says the reader's open is queued. */
static void *fifo_writer(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_WRONLY | O_CLOEXEC); /* blocks until the reader opens */
	if (fd >= 0) {
		(void)!write(fd, "hi", 2);
		close(fd);
	}
	return NULL;
}

/* A FIFO in a fresh directory (its path in [path]), an open of it for
 * reading queued (tag 1), and a 20 ms timeout behind it (tag 2). Answers
 * the directory's descriptor. */
static int fifo_open_queued(struct __test_metadata *_metadata, struct kif_evio *ev, char *path,
			    size_t len)
{
	int d = tmpdir();
	ASSERT_LE(0, d);
	snprintf(path, len, "%s/fifo", dir);
	ASSERT_EQ(0, mkfifo(path, 0600));
	ASSERT_EQ(0, kif_evio_openat(ev, 1, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0));
	ASSERT_EQ(0, kif_evio_timeout(ev, 2, kif_now_ns() + 20000000u));
	return d;
}

/*
 * An openat that blocks (a FIFO nobody writes yet) must not block the
 * loop: a timeout queued after it completes. On epoll the open waits in the
 * backend's pool until the writer comes; io_uring opens FIFOs without
 * waiting for a writer, so there the open may complete first.
 */
TEST_F(evio, a_blocking_open_does_not_block_the_loop)
{
	char path[128];
	int d = fifo_open_queued(_metadata, self->ev, path, sizeof path);
	int fd = -1;
	struct kif_evio_cqe c = t_next(self->ev, 5, "the open or the timeout");
	if (c.tag == 1) {
		ASSERT_STREQ("uring", kif_evio_backend_name(self->ev))
		TH_LOG("the epoll backend's open returned before a writer came");
		fd = c.res;
		c = t_next(self->ev, 5, "the timeout behind the open");
	}
	ASSERT_EQ(2u, c.tag);
	ASSERT_EQ(-ETIME, c.res);
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, fifo_writer, path));
	if (fd < 0)
		fd = t_expect(self->ev, 1, 5, "the FIFO's open, once a writer came");
	pthread_join(th, NULL);
	ASSERT_LE(0, fd) TH_LOG("openat: %s", strerror(-fd));
	char buf[4] = { 0 };
	ASSERT_EQ(0, kif_evio_read(self->ev, 3, fd, buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(2, t_expect(self->ev, 3, 5, "read of the FIFO"));
	ASSERT_STREQ("hi", buf);
	ASSERT_EQ(0, kif_evio_close_fd(self->ev, 4, fd));
	ASSERT_EQ(0, t_expect(self->ev, 4, 5, "close"));
	close(d);
}

/* Closing the loop while the pool (epoll) or the kernel's worker
 * (io_uring) is stuck in an open leaks nothing and does not hang. */
TEST_F(evio, closing_the_loop_during_a_blocked_open_returns)
{
	char path[128];
	int d = fifo_open_queued(_metadata, self->ev, path, sizeof path);
	struct kif_evio_cqe c = t_next(self->ev, 5, "the open or the timeout");
	if (c.tag == 1) { /* io_uring: the open did not wait */
		ASSERT_LE(0, c.res);
		close(c.res);
		c = t_next(self->ev, 5, "the timeout");
	}
	ASSERT_EQ(2u, c.tag);
	kif_evio_close(self->ev);
	self->ev = NULL;
	/* Let the stuck open finish, so the test process can end cleanly. */
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	close(d);
}

TEST_HARNESS_MAIN
