/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vt_device: one device instance served on one vhost-user socket.
 *
 * The protocol thread (vt_device_run) accepts one front-end at a time and
 * dispatches its messages through one table (vu_dispatch.c) that checks each
 * request's payload size, fd count and queue index before any handler runs.
 * A front-end disconnect stops the rings, unmaps guest memory and waits for
 * the next connection; device state is kept.
 */
#ifndef VTRUST_DEVICE_H
#define VTRUST_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "guestmem.h"
#include "resume.h"
#include "vdev.h"
#include "virtq.h"
#include "vu_msg.h"

/*
 * Why the dispatcher refused a message before any handler ran: one value per
 * rule of the request table (vu_dispatch.c), so tests assert the exact one
 * and metrics label it (vt_msg_reject_label).
 */
enum vt_msg_reject {
	VT_REJECT_NONE = 0,
	VT_REJECT_UNSUPPORTED,	     /* unknown request, or one we do not handle */
	VT_REJECT_SIZE,		     /* payload size outside the table's range */
	VT_REJECT_FDS,		     /* fd count outside the table's range */
	VT_REJECT_QUEUE_INDEX,	     /* queue index >= the device's queues */
	VT_REJECT_NREGIONS,	     /* SET_MEM_TABLE: nregions 0 or too many */
	VT_REJECT_NREGIONS_SIZE,     /* SET_MEM_TABLE: size does not match nregions */
	VT_REJECT_NREGIONS_FDS,	     /* SET_MEM_TABLE: fd count does not match nregions */
	VT_REJECT_VRING_FD_BITS,     /* unknown bits in a vring fd payload */
	VT_REJECT_VRING_FD_WITH_NOFD, /* an fd with the NOFD bit set */
	VT_REJECT_VRING_FD_MISSING,  /* no fd and no NOFD bit */
	VT_REJECT_VRING_FD_NOT_EVENTFD, /* kick/call/err fd is a socket, pipe, file... */
	VT_REJECT_NO_CONFIG,	     /* config access to a device without config space */
	VT_REJECT_CONFIG_SIZE,	     /* config size field and payload size disagree */
	VT_REJECT_NO_DEVICE_STATE,   /* DEVICE_STATE without the protocol feature */
	VT_REJECT_XFER_DIRECTION,    /* SET_DEVICE_STATE_FD: bad direction */
	VT_REJECT_XFER_PHASE,	     /* SET_DEVICE_STATE_FD: bad phase */
	VT_REJECT_MAX
};

/* The log sentence ("queue index out of range") and the metrics label ("queue_index"). */
const char *vt_msg_reject_text(enum vt_msg_reject r);
const char *vt_msg_reject_label(enum vt_msg_reject r);

struct vt_device_stats {
	_Atomic uint64_t messages;
	_Atomic uint64_t bad_messages;
	_Atomic uint64_t connections;
	_Atomic bool connected; /* a front-end is attached now (for status and metrics) */
	_Atomic uint64_t rejected[VT_REJECT_MAX]; /* by reason */
};

struct vt_device {
	char name[64];
	const struct vt_device_ops *ops;
	void *priv;

	int listen_fd;
	int conn_fd;
	int stop_fd; /* eventfd: vt_device_stop() */
	char *socket_path;
	bool unlink_on_exit;

	uint64_t offered_features;
	uint64_t acked_features;
	uint64_t offered_protocol;
	uint64_t acked_protocol;
	uint8_t status;
	uint32_t busy_poll_us;
	/* What one sleep costs a worker, fixed (tests); 0: each worker measures it (pollwin.h). */
	uint64_t poll_sleep_cost_ns;
	/*
	 * Benchmark floor only: every chain is completed with its whole writable
	 * length and a zero last byte (virtio-crypto's OK status) and nothing else:
	 * the core's cost per request without the device's work.
	 */
	bool bench_no_work;
	/* Set by vt_device_stop(): workers serve what is available before they exit. */
	_Atomic bool draining;
	/* Tests and fuzzing: started queues get no worker thread (served by hand). */
	bool manual_queues;

	uint16_t nqueues;
	struct vt_queue *queues;
	struct vt_guestmem mem;

	/* DEVICE_STATE transfer in flight. */
	pthread_t xfer_thread;
	bool xfer_running;
	bool xfer_joined; /* finished and joined early (a ring started); CHECK reports it */
	int xfer_fd;
	uint32_t xfer_direction;
	int xfer_result;
	int xfer_cancel_fd;	  /* eventfd: disconnect and stop cancel the transfer */
	uint32_t xfer_timeout_ms; /* a whole transfer's bound (default 30 s) */
	uint64_t xfer_deadline_ns;

	struct vt_device_stats stats;
	enum vt_msg_reject last_reject; /* the latest message the table refused, and why */

	/* Restart survival (resume.h): NULL without a service manager's fd store. */
	struct vt_rs *rs;
	uint64_t fd_gen;   /* generation of the newest fd received */
	uint64_t conn_gen; /* generation of conn_fd */
	vt_fd_observer fd_observer;
	void *fd_observer_ctx;
	/* Leave vt_device_run without touching the front-end (upgrade under a store). */
	_Atomic bool detach_on_stop;
};

/* Creates an instance; the device's num_queues() is read once here. */
struct vt_device *vt_device_new(const char *name, const struct vt_device_ops *ops, void *priv) VT_MUST_USE;
/* Stops everything, closes the socket (unlinking it if we created it); accepts NULL. */
void vt_device_free(struct vt_device *d);

/*
 * Listens on a Unix socket path. A stale socket left by a crashed daemon is
 * replaced; a live one (someone accepts connections) is an error (-EADDRINUSE).
 */
int vt_device_listen(struct vt_device *d, const char *path, mode_t mode) VT_MUST_USE;
/* Serves on an inherited fd: a listening socket, or an already connected one. */
int vt_device_adopt_fd(struct vt_device *d, int fd) VT_MUST_USE;

/* The protocol loop; returns 0 after vt_device_stop(), negative errno on fatal errors. */
int vt_device_run(struct vt_device *d);
/*
 * Async-signal-safe request to leave vt_device_run. In-flight requests finish:
 * every chain the driver made available before the rings stop is served.
 */
void vt_device_stop(struct vt_device *d);

/*
 * Handles one already-received message as the protocol thread would (used by
 * vt_device_run, unit tests and the fuzz harness). Consumes m's fds. Returns
 * negative errno when the connection must be dropped.
 */
int vt_device_handle_message(struct vt_device *d, struct vt_vu_msg *m);

/* Drops the current front-end as on EOF: rings stop, memory unmapped, state kept. */
void vt_device_disconnect(struct vt_device *d);

/* Bound of one DEVICE_STATE transfer, in ms (default VT_XFER_TIMEOUT_MS). */
#define VT_XFER_TIMEOUT_MS 30000u
void vt_device_set_state_timeout(struct vt_device *d, uint32_t ms);
/* Internal (vu_dispatch.c): clears a past cancellation before a new transfer. */
void vt_device_xfer_reset_cancel(struct vt_device *d);

/* Busy-poll window for queue workers, in µs (0 = block on kicks). */
void vt_device_set_busy_poll(struct vt_device *d, uint32_t us);
/*
 * Tests: fix what the poll policy takes one sleep to cost instead of letting
 * each worker measure it (0, the default: measured). On a loaded machine the
 * measured cost is small and a test's "fast" driver is not fast.
 */
void vt_device_set_poll_sleep_cost(struct vt_device *d, uint64_t ns);
/* Benchmark floor: answer every request without doing its work (see bench_no_work). */
void vt_device_set_bench_no_work(struct vt_device *d, bool on);

/* Queue i, or NULL. */
struct vt_queue *vt_device_queue(struct vt_device *d, unsigned i);

/* Worker threads (worker.c). */
int vt_queue_start_worker(struct vt_queue *q) VT_MUST_USE;
/*
 * Process-wide hook run first on every new queue worker thread, on that
 * thread (vtrustd installs the worker seccomp filter there). NULL: none.
 */
typedef void (*vt_worker_hook)(struct vt_queue *q);
void vt_worker_set_thread_hook(vt_worker_hook fn);
void vt_queue_stop_worker(struct vt_queue *q);

#endif
