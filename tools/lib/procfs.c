// SPDX-License-Identifier: MIT
/*
 * tools/lib/procfs.c: this process's threads through /proc/self/task,
 * /proc status fields, programs in temporary files (see procfs.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/lib/procfs.h"

int procfs_task_open(struct procfs_task *t)
{
	t->dir = opendir("/proc/self/task");
	return t->dir ? 0 : -1;
}

int procfs_task_next(struct procfs_task *t)
{
	struct dirent *e;
	while (t->dir && (e = readdir(t->dir))) {
		char path[300];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* the thread has ended */
		t->comm[0] = 0;
		if (fgets(t->comm, sizeof t->comm, f))
			t->comm[strcspn(t->comm, "\n")] = 0;
		fclose(f);
		t->tid = atoi(e->d_name);
		return 1;
	}
	if (t->dir)
		closedir(t->dir);
	t->dir = NULL;
	return 0;
}

int procfs_count_threads(const char *comm)
{
	struct procfs_task t;
	int n = 0;
	if (procfs_task_open(&t))
		return -1;
	while (procfs_task_next(&t))
		n += !strcmp(t.comm, comm);
	return n;
}

long long procfs_status_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t k = strlen(key);
	long long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			if (sscanf(line + k + 1, "%lld", &v) != 1)
				v = -1;
			break;
		}
	fclose(f);
	return v;
}

char *procfs_program(const char *tag, const char *src)
{
	char *path;
	if (asprintf(&path, "/tmp/baton-%s-XXXXXX.st", tag) < 0)
		return NULL;
	int fd = mkstemps(path, 3);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	size_t n = strlen(src);
	int ok = write(fd, src, n) == (ssize_t)n;
	close(fd);
	if (!ok) {
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}
