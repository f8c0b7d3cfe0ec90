/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device interface: what a device (devices/<name>/) gives the core.
 *
 * A device is a const table of callbacks plus a private pointer. The core
 * owns the vhost-user connection, guest memory, rings and worker threads;
 * the device owns its state (sessions, keys, stores), which survives ring
 * stop/start, memory-table changes and front-end reconnects.
 *
 * Threads: config, features, state and extra-message callbacks run on the
 * device's protocol thread. queue_handle runs on the queue's worker thread
 * with the queue lock held; queues of one device run in parallel, so shared
 * device state needs its own locking.
 */
#ifndef VTRUST_VDEV_H
#define VTRUST_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "statefd.h"
#include "virtq.h"

struct vt_device_ops {
	const char *type; /* "rng", "crypto", "rpmb", "null" */
	uint32_t virtio_id;
	/* Device-specific virtio feature bits; the core adds VERSION_1,
	 * INDIRECT_DESC, EVENT_IDX and PROTOCOL_FEATURES. */
	uint64_t (*get_features)(void *priv);
	/* Protocol features beyond the core's (e.g. CRYPTO_SESSION, CONFIG). */
	uint64_t protocol_features;
	uint16_t (*num_queues)(void *priv);
	uint16_t max_queue_size;
	/* QEMU 7.2 never sends SET_VRING_ENABLE for crypto rings: serve when started. */
	bool serve_without_enable;

	/* Features the front-end acked (authoritative, even if never offered). */
	void (*set_features)(void *priv, uint64_t features);
	/* Config space (only if VHOST_USER_PROTOCOL_F_CONFIG is in protocol_features). */
	int (*get_config)(void *priv, uint32_t offset, void *buf, uint32_t len);
	int (*set_config)(void *priv, uint32_t offset, const void *buf, uint32_t len);

	/* Ring lifecycle: start after the worker exists, stop after it joined. */
	void (*queue_start)(void *priv, struct vt_queue *q);
	void (*queue_stop)(void *priv, struct vt_queue *q);
	/* Kick, timer or wake: serve what can be served now. Required. */
	void (*queue_handle)(void *priv, struct vt_queue *q);

	/* DEVICE_STATE transfer (VHOST_USER_PROTOCOL_F_DEVICE_STATE): write the
	 * state to fd / read it from fd until EOF, ONLY with vt_state_write /
	 * vt_state_read (statefd.h: non-blocking, bounded, cancelled on
	 * disconnect and stop). Check that a load can be accepted at all before
	 * reading. 0 or negative errno. */
	int (*save_state)(void *priv, int fd);
	int (*load_state)(void *priv, int fd);

	/* Requests the core does not know (CREATE/CLOSE_CRYPTO_SESSION). Set
	 * *reply_size (≤ VHOST_USER_PAYLOAD_MAX) to reply, or 0 for no reply.
	 * Return -ENOTSUP for requests the device does not handle either. */
	int (*extra_message)(void *priv, uint32_t request, const void *payload, uint32_t size,
			     void *reply, uint32_t *reply_size);

	/*
	 * Restart survival (core/resume.h), both optional. resume_size: bytes of
	 * device state to keep in locked, non-dumpable shared memory that
	 * outlives the process under a service manager's fd store. resume_attach
	 * hands that area over before any ring runs: zeroed on a fresh start,
	 * what the previous process left there when restored. The device writes
	 * its resumable state into the area itself, before it answers the
	 * request that changed it, and wipes what it releases. area NULL: the
	 * area goes away (the process is leaving it for its successor). Return
	 * negative to refuse restored bytes (they are wiped, then attached fresh).
	 */
	size_t (*resume_size)(void *priv);
	int (*resume_attach)(void *priv, void *area, size_t size, bool restored);
	/*
	 * The device may rewrite a chain's readable bytes in place (its writable
	 * buffers alias them: Linux's in-place crypto). Under a store the core
	 * then keeps the chain's original input while it is served, so a chain
	 * in flight at a crash is redone from it, never from half-rewritten data.
	 */
	bool inflight_keep_input;

	/* A front-end connected / went away (rings are already stopped). */
	void (*connected)(void *priv);
	void (*disconnected)(void *priv);
};

#endif
