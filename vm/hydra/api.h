// SPDX-License-Identifier: MIT
/*
 * vm/hydra/api.h: Hydra for embedders -- create, run and join heads from C.
 *
 * A head is a whole Smalltalk VM on an OS thread of its own, running a
 * file as `baton FILE ARGS...` would; several run in parallel in one
 * process and talk by copied messages (Documentation/vm/hydra.md). These
 * functions live in the VM library (libbatonvm.a, which needs libbaton),
 * not in the ownership core: libbaton knows nothing of Smalltalk.
 * Every function may be called from any thread.
 */
#ifndef BATON_HYDRA_API_H
#define BATON_HYDRA_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hydra_head baton_head;

struct baton_head_opts {
	long inbox;           /* messages its inbox holds at most; 0: 65536 or BATON_HYDRA_INBOX */
	unsigned max_threads; /* its VM threads at most; 0: 64 */
};

/* Starts a head running [file] with Smalltalk arguments [argv][0..argc).
 * [opts] may be NULL. The head's VM parent is nil. Answers the head (a
 * reference: baton_head_release it), or NULL with errno set. A missing
 * file or a syntax error is not an error here: the head ends with status
 * 66 or 65, as baton would. */
baton_head *baton_head_spawn(const char *file, int argc, char *const argv[],
			     const struct baton_head_opts *opts);
/* Its id: 2, 3, ... in spawn order (the embedder counts as 1). */
int baton_head_id(const baton_head *h);
/* 1 while it runs, 0 once it has ended. */
int baton_head_running(const baton_head *h);
/* Waits until it has ended, [timeout_ns] at most (< 0: no limit).
 * Answers its exit status (0, 1 after an unhandled error, n after
 * Smalltalk quit: n, 65, 66, 143 after baton_head_terminate), or
 * -ETIMEDOUT. */
int baton_head_join(baton_head *h, int64_t timeout_ns);
/* Asks it to end (its processes stop at their next checkpoint). */
void baton_head_terminate(baton_head *h);
/* Sends it the String [s] (VM receive answers it; the sender is nil).
 * Answers 1 (in its inbox), 0 (the inbox is full: try again later), -1
 * (it has ended) or -ENOMEM. Never waits. */
int baton_head_send_string(baton_head *h, const char *s, size_t n);
/* Drops the caller's reference. The head runs on regardless. */
void baton_head_release(baton_head *h);

#ifdef __cplusplus
}
#endif

#endif /* BATON_HYDRA_API_H */
