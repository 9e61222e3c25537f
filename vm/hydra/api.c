// SPDX-License-Identifier: MIT
/*
 * vm/hydra/api.c: the embedder's side of Hydra (vm/hydra/api.h), thin
 * wrappers over the records of head.c and the inbox of inbox.c. Owns
 * nothing of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vm/hydra/api.h"
#include "vm/hydra/hydra.h"

/* The embedder's heads are one group, made at the first spawn and kept
 * for the life of the process (its pointer never changes afterwards):
 * their ids are 2, 3, ...; the embedder itself stands where a first VM
 * would, as 1. */
static struct hydra_group *api_group;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void make_group(void)
{
	api_group = hy_group_new(2);
}

baton_head *baton_head_spawn(const char *file, int argc, char *const argv[],
			     const struct baton_head_opts *opts)
{
	if (!file || argc < 0 || (argc > 0 && !argv)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&api_once, make_group);
	if (!api_group) {
		errno = ENOMEM;
		return NULL;
	}
	return hy_spawn(api_group, NULL, file, argc, argv, opts ? opts->inbox : 0,
			opts ? opts->max_threads : 0);
}

int baton_head_id(const baton_head *h)
{
	return h->id;
}

int baton_head_running(const baton_head *h)
{
	return !atomic_load(&((baton_head *)h)->done);
}

int baton_head_join(baton_head *h, int64_t timeout_ns)
{
	int r = hy_join(h, timeout_ns);
	return r < 0 ? r : atomic_load(&h->status);
}

void baton_head_terminate(baton_head *h)
{
	hy_terminate(h, NULL);
}

int baton_head_send_string(baton_head *h, const char *s, size_t n)
{
	struct hy_msg *m = hy_msg_string(s, n);
	if (!m)
		return -ENOMEM;
	int r = hy_post(h, m, NULL);
	if (r != 1)
		hy_msg_free(m);
	return r;
}

void baton_head_release(baton_head *h)
{
	hy_unref(h);
}
