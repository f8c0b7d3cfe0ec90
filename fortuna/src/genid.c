/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM generation ID and the kernel's VM-fork counter, mapped from
 * /dev/vtrust-vmgenid (the vtrust_vmgenid guest kernel module). Two pages:
 *   offset 0          the hypervisor's page holding the 16-byte ID at
 *                     state->id_offset (QEMU rewrites it before the vCPUs
 *                     run again after a restore)
 *   offset PAGE_SIZE  the module's state page: magic, version, flags,
 *                     id_offset, and vmfork_count, bumped after the kernel
 *                     has reseeded its own crng for a new VM
 * One read-only mapping per process, made lazily and never unmapped (a
 * generator's hot path holds pointers into it). Until a generator is
 * attached its pointers aim at a zero block, so vtf_stale() is the same
 * loads either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "internal.h"

#define GENID_DEVICE "/dev/vtrust-vmgenid"
#define GENID_MAGIC 0x47565456u /* "VTVG" */
#define GENID_VERSION 1u
#define GENID_F_ID 1u
#define GENID_F_VMFORK 2u
#define GENID_RETRY_NS (1000ull * 1000 * 1000) /* re-probe the device at most every 1 s */

struct genid_state_page {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t id_offset;
	_Atomic uint64_t vmfork_count;
};

/* Stand-in for an unmapped ID and counter: never written. */
_Atomic uint64_t vtf_genid_none[3];

static struct {
	pthread_mutex_t lock;
	_Atomic bool mapped;
	int error; /* last probe's negative errno (0 once mapped) */
	uint64_t last_try_ns;
	_Atomic uint64_t *id; /* two words */
	_Atomic uint64_t *fork;
	bool have_fork;
} G = {.lock = PTHREAD_MUTEX_INITIALIZER, .error = -ENODEV};

/* Test hook state: memory standing in for the device's pages. */
static bool hooked;

static int genid_map(void)
{
#ifdef __linux__
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open(GENID_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	void *p = mmap(NULL, 2 * (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
	int err = p == MAP_FAILED ? -errno : 0;
	close(fd); /* the mapping keeps the device open */
	if (err)
		return err;
	struct genid_state_page *sp = (void *)((uint8_t *)p + pg); /* PROT_READ */
	if (sp->magic != GENID_MAGIC || sp->version != GENID_VERSION || !(sp->flags & GENID_F_ID) ||
	    sp->id_offset % 8 || sp->id_offset > (uint32_t)pg - 16) {
		munmap(p, 2 * (size_t)pg);
		return -EPROTO; /* not the module this library knows */
	}
	G.id = (_Atomic uint64_t *)((uint8_t *)p + sp->id_offset);
	G.have_fork = (sp->flags & GENID_F_VMFORK) != 0;
	G.fork = G.have_fork ? &sp->vmfork_count : &vtf_genid_none[2];
	return 0;
#else
	return -ENOTSUP;
#endif
}

/* Maps the device if it is not mapped yet; at most one attempt per second unless forced. */
int vtf_genid_probe(bool force)
{
	if (atomic_load_explicit(&G.mapped, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&G.lock);
	uint64_t now = vtf_now_ns();
	if (!G.mapped && (force || G.last_try_ns == 0 || now - G.last_try_ns >= GENID_RETRY_NS)) {
		G.last_try_ns = now;
		G.error = genid_map();
		if (G.error == 0)
			atomic_store_explicit(&G.mapped, true, memory_order_release);
	}
	int r = G.mapped ? 0 : G.error;
	pthread_mutex_unlock(&G.lock);
	return r;
}

void vtf_genid_attach(struct vtf_ctx *ctx, bool force)
{
	if (ctx->genid_attached || (ctx->opt_flags & VTF_OPT_NO_VMGENID))
		return;
	if (vtf_genid_probe(force) < 0)
		return;
	/* Adopt the current values: whatever happened before is not known. */
	ctx->gid = G.id;
	ctx->gfork = G.fork;
	ctx->genid_has_fork = G.have_fork;
	ctx->seen_id[0] = atomic_load_explicit(&G.id[0], memory_order_relaxed);
	ctx->seen_id[1] = atomic_load_explicit(&G.id[1], memory_order_relaxed);
	ctx->seen_fork = atomic_load_explicit(G.fork, memory_order_relaxed);
	ctx->genid_attached = true;
}

void vtf_genid_detached(struct vtf_ctx *ctx)
{
	ctx->gid = &vtf_genid_none[0];
	ctx->gfork = &vtf_genid_none[2];
	ctx->seen_id[0] = ctx->seen_id[1] = ctx->seen_fork = 0;
	ctx->genid_attached = false;
	ctx->genid_has_fork = false;
}

int vtf_vmgenid_listen_start(void)
{
	return vtf_genid_probe(true);
}

void vtf_vmgenid_listen_stop(void) {}

int vtf__genid_use(uint64_t id[2], uint64_t *fork)
{
	pthread_mutex_lock(&G.lock);
	if (G.mapped && !hooked) {
		pthread_mutex_unlock(&G.lock);
		return -EBUSY; /* the real device is mapped */
	}
	hooked = true;
	G.id = (_Atomic uint64_t *)id;
	G.have_fork = fork != NULL;
	G.fork = fork ? (_Atomic uint64_t *)fork : &vtf_genid_none[2];
	G.error = 0;
	atomic_store_explicit(&G.mapped, true, memory_order_release);
	pthread_mutex_unlock(&G.lock);
	return 0;
}
