/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart survival: what a device needs to carry on serving the same
 * front-end after its process died (SIGKILL, crash) or exited to be
 * upgraded, when a service manager keeps its fds (systemd's fd store).
 *
 * Two memfds per device outlive the process together with the connected
 * socket, the guest-memory fds and the kick/call/err eventfds:
 *
 *   "<dev>.state"  the core's resumable state, written as it changes:
 *                  negotiated features and status, the memory table (each
 *                  region with the fstat identity of its fd), per queue the
 *                  ring size, addresses, flags, avail/used positions, which
 *                  heads are in flight, the push in progress and, for
 *                  in-place devices, the original input of the chain being
 *                  served; plus the front-end message being handled and its
 *                  reply. Locked, never dumped.
 *   "<dev>.priv"   the device's own resumable state (crypto sessions):
 *                  locked, never dumped, sealed against resizing, wiped
 *                  when released.
 *
 * Guest memory is matched by file identity (st_dev, st_ino), never by name:
 * QEMU sends one memfd for every region of every device, and a store keeps
 * one copy of one open file. Eventfds (which all share one inode) and
 * sockets are matched by name; a replaced fd gets a new generation in its
 * name, so the old one can be removed after the new one is stored.
 *
 * In flight at a crash: a chain popped and not pushed is served again, once
 * (vt_queue_pop hands it out first, with vt_chain.redo set); a push that
 * reached the used ring is recognised from the used index. Devices decide
 * what "again" means (rng: redo; rpmb: re-deliver a committed write's
 * result; crypto: redo from the kept original input).
 */
#ifndef VTRUST_RESUME_H
#define VTRUST_RESUME_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "vhost_user_proto.h"

#define VT_RS_MAGIC "VTRSTAT1"
#define VT_RS_VERSION 1u

/* Queue flags. */
#define VT_RSQ_ADDR_SET 0x1u
#define VT_RSQ_STARTED 0x2u
#define VT_RSQ_ENABLED 0x4u
#define VT_RSQ_KICK_NOFD 0x8u

struct vt_rs_region {
	uint64_t gpa, size, uva, mmap_offset;
	uint64_t st_dev, st_ino;
};

struct vt_rs_queue {
	uint32_t num;
	uint32_t flags;
	uint64_t desc_uva, avail_uva, used_uva, log_gpa;
	uint32_t addr_flags;
	uint32_t kick_gen, call_gen, err_gen; /* 0: no fd */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t push_head;
	uint16_t push_pending; /* 1 while a used element is being published */
	uint32_t undo_head;    /* head + 1 while undo_len input bytes are kept */
	uint32_t undo_len;
	uint32_t pad;
	/* then uint8_t inflight[max_queue] */
};

/* The front-end message in hand (replayed after a crash). */
#define VT_RS_MSG_NONE 0u
#define VT_RS_MSG_RECEIVED 1u /* handle it again: no reply went out */
#define VT_RS_MSG_REPLIED 2u  /* reply ready: send it (again) */

struct vt_rs_file {
	char magic[8];
	uint32_t version;
	uint32_t nqueues;
	uint32_t max_queue;
	uint32_t undo_cap;
	uint64_t priv_size;
	uint32_t connected;
	uint32_t conn_gen;
	uint64_t acked_features, acked_protocol;
	uint32_t status;
	uint32_t nregions;
	struct vt_rs_region regions[VT_MAX_MEM_SLOTS];
	uint32_t msg_state;
	uint32_t msg_size;	 /* header + payload */
	uint32_t reply_request;
	uint32_t reply_size;
	uint8_t msg[12 + VHOST_USER_PAYLOAD_MAX];
	uint8_t reply[VHOST_USER_PAYLOAD_MAX];
	uint64_t fd_gen; /* last generation handed out */
};

struct vt_device;
struct vt_queue;
struct vt_chain;
struct vt_vu_msg;

/* One fd inherited from the service manager (LISTEN_FDS), by name. */
struct vt_inherited_fd {
	const char *name;
	int fd;
	bool used;     /* taken by a device */
	bool borrowed; /* used, but only copied (guest memory): the caller still closes it */
};

/*
 * Creates the state and priv memfds of d, before it serves (fresh start under
 * a store). The device's resume area is attached zeroed.
 */
int vt_device_resume_enable(struct vt_device *d) VT_MUST_USE;

/*
 * Resumes d from inherited fds: its "<name>.state" memfd and everything it
 * names. 1: resumed (connection, memory, rings and workers back), 0: nothing
 * to resume for d, negative errno: the state was unusable (logged); d then
 * starts fresh. Takes the fds it uses (marks them used).
 */
int vt_device_resume(struct vt_device *d, struct vt_inherited_fd *fds, unsigned n) VT_MUST_USE;

/* Leaves without touching the front-end: workers finish their batch, state stays for the next process. */
void vt_device_detach(struct vt_device *d);

/* Every fd the next process needs, with its store name. */
typedef void (*vt_fd_visit)(void *ctx, const char *name, int fd);
void vt_device_visit_fds(struct vt_device *d, vt_fd_visit fn, void *ctx);

/*
 * Called (protocol thread) whenever the set of fds may have changed: first to
 * store new fds (drop_unused false), then, once the state names the new
 * ones, to drop the fds no longer needed (drop_unused true).
 */
typedef void (*vt_fd_observer)(void *ctx, struct vt_device *d, bool drop_unused);
void vt_device_set_fd_observer(struct vt_device *d, vt_fd_observer fn, void *ctx);

/*
 * Tests of the in-flight rules: SIGKILLs the process at the Nth pass through
 * point name (on queue index queue) when VTRUST_CRASH_AT=NAME[@QUEUE][#N] is
 * set. Points: "push" (the device answered a chain, the used ring does not
 * show it yet). No effect otherwise.
 */
void vt_crash_point(const char *name, int queue);

/* ---- inside the core ---- */
struct vt_rs;
void vt_rs_sync(struct vt_device *d);			  /* config fields of d and its queues */
void vt_rs_queue_sync(struct vt_queue *q);		  /* q->lock held */
void vt_rs_queue_clear_inflight(struct vt_queue *q);	  /* fresh ring */
void vt_rs_pop(struct vt_queue *q, uint16_t head);	  /* after last_avail_idx moved */
void vt_rs_unpop(struct vt_queue *q, uint16_t head);
void vt_rs_push_begin(struct vt_queue *q, uint16_t head);
void vt_rs_push_end(struct vt_queue *q, uint16_t head);
void vt_rs_keep_input(struct vt_queue *q, const struct vt_chain *c);
void vt_rs_restore_input(struct vt_queue *q, struct vt_chain *c);
void vt_rs_msg_received(struct vt_device *d, const struct vt_vu_msg *m);
void vt_rs_msg_reply(struct vt_device *d, uint32_t request, const void *p, uint32_t size);
void vt_rs_msg_done(struct vt_device *d);
uint64_t vt_rs_next_gen(struct vt_device *d);
uint64_t vt_rs_eventfd_gen(struct vt_device *d, int fd); /* the generation naming fd */
void vt_rs_fds_changed(struct vt_device *d);
void vt_rs_free(struct vt_device *d);

#endif
