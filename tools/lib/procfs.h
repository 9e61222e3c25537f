// SPDX-License-Identifier: MIT
/*
 * tools/lib/procfs.h: this process's threads as /proc/self/task shows them,
 * fields of /proc status files, and Smalltalk programs in temporary files.
 *
 * Shared by the benchmarks (tools/lib/benchhb.c) and the selftests
 * (selftests/kernel-iface/t_proc.h, selftests/heartbeat/hb_heads.c,
 * selftests/hydra/capi.c). Uses only libc.
 */
#ifndef BATON_PROCFS_H
#define BATON_PROCFS_H

/* Walks this process's threads:
 *     struct procfs_task t;
 *     if (procfs_task_open(&t) == 0)
 *             while (procfs_task_next(&t))
 *                     ... t.tid, t.comm ...
 * procfs_task_next() answers 0 (and closes the walk) after the last one. */
struct procfs_task {
	void *dir;
	int tid;
	char comm[64];
};

int procfs_task_open(struct procfs_task *t);
int procfs_task_next(struct procfs_task *t);

/* How many threads of this process are named [comm]; -1 if unreadable. */
int procfs_count_threads(const char *comm);

/* The number after "[key]:" in the status-like file [path] (e.g.
 * "/proc/self/status", "VmRSS"); -1 if the file or the key is missing. */
long long procfs_status_field(const char *path, const char *key);

/* Writes [src] to a new file /tmp/baton-[tag]-XXXXXX.st and answers its
 * path (malloc'ed: the caller unlinks and frees it), or NULL. */
char *procfs_program(const char *tag, const char *src);

#endif
