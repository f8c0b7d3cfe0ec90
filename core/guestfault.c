/* SPDX-License-Identifier: Apache-2.0 */
#include "guestfault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "log.h"

/* Enough for hundreds of devices with a full table each (32 regions). */
#define SLOTS 4096

/*
 * One registered mapping. Writers (register/unregister, under slots_lock)
 * make seq odd while they change start/end; the handler reads a consistent
 * snapshot (seqlock). poison_from only moves down, by compare-and-swap, so
 * two threads faulting at once remap disjoint ranges.
 */
struct slot {
	_Atomic uint32_t seq;
	_Atomic uintptr_t start; /* 0: free */
	_Atomic uintptr_t end;	 /* rounded up to granule */
	_Atomic uintptr_t granule; /* the file's page size: 4 KiB, or a hugetlbfs page */
	_Atomic uintptr_t poison_from;
};

static struct slot slots[SLOTS];
static _Atomic unsigned slots_used; /* high-water mark: the handler scans [0, slots_used) */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t generation;
static _Atomic uint64_t contained;
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uintptr_t page_size;

/* Replaces [from, to) of a registered mapping by private zero pages. */
static bool patch(uintptr_t from, uintptr_t to)
{
	/* The raw system call: no interceptor, no libc state, async-signal-safe. */
	long r = syscall(SYS_mmap, (void *)from, (size_t)(to - from), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0L);
	return r != -1;
}

static int signal_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	return sigaction(sig, &dfl, NULL);
}

/* Async-signal-safe: atomics and one system call. */
static bool contain(uintptr_t addr)
{
	unsigned n = atomic_load_explicit(&slots_used, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = &slots[i];
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		uintptr_t start = atomic_load_explicit(&s->start, memory_order_relaxed);
		uintptr_t end = atomic_load_explicit(&s->end, memory_order_relaxed);
		uintptr_t granule = atomic_load_explicit(&s->granule, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
			continue;
		if (!start || addr < start || addr >= end)
			continue;
		/* A hugetlbfs mapping can only be replaced in whole huge pages (EINVAL). */
		uintptr_t page = addr & ~(granule - 1);
		if (page < start)
			page = start;
		uintptr_t cur = atomic_load(&s->poison_from);
		for (;;) {
			if (page >= cur)
				return true; /* already patched (a racing thread): just retry */
			if (atomic_compare_exchange_weak(&s->poison_from, &cur, page))
				break;
		}
		if (!patch(page, cur))
			return false;
		atomic_fetch_add(&contained, 1);
		atomic_fetch_add(&generation, 1);
		return true;
	}
	return false;
}

/*
 * Only the kernel's own report of an access to a page the file no longer
 * has is contained. A SIGBUS that some process sent (kill, sigqueue: si_code
 * <= 0, si_addr then forged or meaningless) or a machine-check report must
 * never remap guest memory.
 */
static bool lost_page(const siginfo_t *si)
{
	return si->si_code == BUS_ADRERR;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	if (lost_page(si) && contain((uintptr_t)si->si_addr)) {
		errno = saved;
		return;
	}
	/* Not guest memory: whatever was there before us decides (by default: die). */
	if (previous.sa_handler == SIG_IGN) {
		/* A fault is never ignored: back to the default, the access faults again. */
		if (si->si_code > 0 && si->si_code != BUS_MCEERR_AO)
			(void)signal_default(sig);
	} else if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uc);
	} else if (previous.sa_handler != SIG_DFL) {
		previous.sa_handler(sig);
	} else {
		(void)signal_default(sig);
		/*
		 * A fault kills when the access runs again; a sent signal does not
		 * come back by itself: send it again (blocked here, delivered with the
		 * default action as we return).
		 */
		if (si->si_code <= 0 || si->si_code == BUS_MCEERR_AO)
			(void)raise(sig);
	}
	errno = saved;
}

static void install(void)
{
	page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) < 0)
		vt_err("cannot install the SIGBUS handler: %s; a front-end that shrinks guest "
		       "memory can crash the daemon",
		       strerror(errno));
}

/*
 * The granule a part of this file's mapping can be replaced in: its block
 * size, which hugetlbfs sets to its huge page size (tmpfs and memfds: the
 * page size). fstat only: the sandbox allows nothing else here, and any
 * power of two at or above the page size is a valid (if wider) granule.
 */
static uintptr_t file_granule(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_blksize <= 0)
		return page_size;
	uintptr_t b = (uintptr_t)st.st_blksize;
	if ((b & (b - 1)) != 0 || b < page_size || b > ((uintptr_t)1 << 30))
		return page_size;
	return b;
}

int vt_guestfault_register(void *map, size_t len, int fd)
{
	(void)pthread_once(&once, install);
	uintptr_t granule = file_granule(fd);
	uintptr_t start = (uintptr_t)map;
	uintptr_t end = (start + len + granule - 1) & ~(granule - 1);
	pthread_mutex_lock(&slots_lock);
	unsigned n = atomic_load(&slots_used);
	unsigned i;
	for (i = 0; i < n; i++)
		if (!atomic_load(&slots[i].start))
			break;
	if (i == SLOTS) {
		pthread_mutex_unlock(&slots_lock);
		return -ENOSPC;
	}
	struct slot *s = &slots[i];
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel); /* odd: being written */
	atomic_store_explicit(&s->end, end, memory_order_relaxed);
	atomic_store_explicit(&s->granule, granule, memory_order_relaxed);
	atomic_store_explicit(&s->poison_from, end, memory_order_relaxed);
	atomic_store_explicit(&s->start, start, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
	if (i == n)
		atomic_store_explicit(&slots_used, n + 1, memory_order_release);
	pthread_mutex_unlock(&slots_lock);
	return (int)i + 1;
}

void vt_guestfault_unregister(int slot)
{
	if (slot <= 0 || slot > SLOTS)
		return;
	struct slot *s = &slots[slot - 1];
	pthread_mutex_lock(&slots_lock);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
	atomic_store_explicit(&s->start, 0, memory_order_relaxed);
	atomic_store_explicit(&s->end, 0, memory_order_relaxed);
	atomic_store_explicit(&s->poison_from, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
	pthread_mutex_unlock(&slots_lock);
}

bool vt_guestfault_poisoned(int slot)
{
	if (slot <= 0 || slot > SLOTS)
		return false;
	const struct slot *s = &slots[slot - 1];
	uintptr_t start = atomic_load(&s->start);
	return start && atomic_load(&s->poison_from) < atomic_load(&s->end);
}

uint64_t vt_guestfault_generation(void)
{
	return atomic_load_explicit(&generation, memory_order_acquire);
}

uint64_t vt_guestfault_count(void)
{
	return atomic_load(&contained);
}
