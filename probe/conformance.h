/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `vtrust-probe conformance`: named cases, each on its own connection,
 * each followed by a check that the back-end still serves correct requests
 * (a fresh connection, the start sequence and the device profile's sanity
 * request). Output: one `PASS name` / `FAIL name: reason` / `SKIP name:
 * reason` line per case, then exactly `N passed, N failed`.
 *
 * What every case may rely on from the back-end: it never crashes and
 * never hangs. A bad message is refused with a failed REPLY_ACK (when
 * NEED_REPLY was set) or by closing the connection; both pass and the
 * choice is recorded as the case's outcome. A broken ring stops being
 * served, and restarting it (GET_VRING_BASE, fresh rings, base 0) makes it
 * serve correct requests again.
 *
 * Cases are tables of struct conf_case: the core's in conf_flow.c
 * (lifecycle), conf_proto.c (protocol), conf_ring.c (rings) and
 * conf_hostile.c (fds of the wrong kind, memory that shrinks, a held state
 * pipe, sparse memory), run in that order, then a device's from its
 * probe_device (probe.h).
 */
#ifndef VTRUST_PROBE_CONFORMANCE_H
#define VTRUST_PROBE_CONFORMANCE_H

#include "probe.h"

enum conf_result {
	CONF_PASS,
	CONF_FAIL,
	CONF_SKIP,
};

/* What the harness prepares in c->dev before the case runs. */
enum conf_setup {
	CONF_SETUP_NONE,       /* nothing: the case opens what it needs (conf_open) */
	CONF_SETUP_CONNECTED,  /* connected; only one GET_FEATURES sent (fe_vu_hello) */
	CONF_SETUP_NEGOTIATED, /* init sequence done */
	CONF_SETUP_STARTED,    /* start sequence done, queues running */
};

struct conf_ctx;

struct conf_case {
	const char *name; /* dotted, suite first: "ring.desc_loop" */
	const char *summary;
	enum conf_setup setup;
	enum conf_result (*run)(struct conf_ctx *c);
	const void *arg; /* for table-driven cases */
};

struct conf_ctx {
	const struct probe_ctx *probe;
	struct fe_dev_opts opts; /* what conf_open() connects with; cases may change a copy */
	const struct conf_case *cur;
	struct fe_dev *dev; /* the case's connection (NULL with CONF_SETUP_NONE) */
	int settle_ms;	    /* how long "nothing happens" is watched for */
	int canary_fd;	    /* read end of the fd-leak canary pipe, or -1 */
	char reason[512];
	char outcome[160]; /* how the back-end reacted, when there was a choice */
};

enum conf_result conf_fail(struct conf_ctx *c, const char *fmt, ...) VT_PRINTF(2, 3);
enum conf_result conf_skip(struct conf_ctx *c, const char *fmt, ...) VT_PRINTF(2, 3);
void conf_outcome(struct conf_ctx *c, const char *fmt, ...) VT_PRINTF(2, 3);

/* Opens a connection with opts up to setup. On failure: <0 and c->reason set. */
VT_MUST_USE int conf_open(struct conf_ctx *c, const struct fe_dev_opts *opts, enum conf_setup setup,
			  struct fe_dev **ret);
/* The device profile's sanity request on a started device (FAIL with `when` in the reason). */
enum conf_result conf_sanity(struct conf_ctx *c, struct fe_dev *d, unsigned q, const char *when);

/*
 * Sends one bad message on c->dev: the header as given (its size may lie),
 * len payload bytes, fds; NEED_REPLY is forced on. Then classifies:
 *   failed ack        -> PASS, outcome "nack"
 *   connection closed -> PASS, outcome "closed"
 *   ack 0             -> FAIL (accepted)
 *   no answer         -> FAIL (hang)
 * Without REPLY_ACK negotiated, a still-answered GET_FEATURES passes as
 * "silent" (the back-end cannot tell us more). After a nack the connection
 * must keep answering GET_FEATURES.
 */
enum conf_result conf_expect_refusal(struct conf_ctx *c, uint32_t request, uint32_t hdr_size,
				     const void *payload, size_t len, const int *fds,
				     unsigned nfds);
/* The same with a header as given (flags included: nothing is forced). */
enum conf_result conf_expect_refusal_hdr(struct conf_ctx *c, const struct vhost_user_header *hdr,
					 const void *payload, size_t len, const int *fds,
					 unsigned nfds);
/* Like conf_expect_refusal for a request with a typed reply: any well-formed reply or a close. */
enum conf_result conf_expect_survival(struct conf_ctx *c, uint32_t request, uint32_t hdr_size,
				      const void *payload, size_t len, const int *fds,
				      unsigned nfds);
enum conf_result conf_expect_survival_hdr(struct conf_ctx *c, const struct vhost_user_header *hdr,
					  const void *payload, size_t len, const int *fds,
					  unsigned nfds);
/* GET_FEATURES on c->dev must be answered (or the connection was closed: outcome "closed"). */
enum conf_result conf_expect_alive(struct conf_ctx *c);

/*
 * The same connection restarts queue 0 from scratch (GET_VRING_BASE, fresh
 * rings, base 0) and the sanity request is served. A connection the back-end
 * already closed passes (outcome "... then closed"): the harness then checks
 * a fresh one.
 */
enum conf_result conf_restart_and_serve(struct conf_ctx *c);

/*
 * An fd-leak canary: the write end of a pipe to send in a bad message. The
 * back-end must close every fd of a message it refuses; once all copies are
 * closed, the read end sees EOF.
 */
VT_MUST_USE int conf_canary(struct conf_ctx *c);
enum conf_result conf_expect_canary_closed(struct conf_ctx *c);

/* Options: filters are fnmatch() patterns on case names. Returns the exit code. */
int conf_run(struct probe_ctx *ctx, const char *const *filters, size_t nfilters, bool list,
	     int settle_ms);

extern const struct conf_case conf_flow_cases[];
extern const size_t conf_flow_ncases;
extern const struct conf_case conf_proto_cases[];
extern const size_t conf_proto_ncases;
extern const struct conf_case conf_ring_cases[];
extern const size_t conf_ring_ncases;
extern const struct conf_case conf_hostile_cases[];
extern const size_t conf_hostile_ncases;

#endif
