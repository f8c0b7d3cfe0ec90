/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mapped VM generation ID (genid.c) and the reaction to it (clone.c),
 * with test memory standing in for /dev/vtrust-vmgenid's two pages. The real
 * event (a restored QEMU snapshot, the real module) is tests/vm/run-clone.sh;
 * this covers the library's side in detail.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "tutil.h"

/* Generators seeded only from the timing loop: no RDRAND, no getrandom. */
#define NO_REAL (VTF_OPT_NO_RDRAND | VTF_OPT_NO_GETRANDOM | VTF_OPT_NO_JITTER)

static uint64_t id[2] = {0x1111111111111111ull, 0x2222222222222222ull};
static uint64_t fork_count = 7;

static struct vtf_status status(struct vtf_ctx *c)
{
	struct vtf_status st;
	vtf_get_status(c, &st);
	return st;
}

/* Runs before the hook: this machine has no module. */
static void test_no_device(void)
{
	struct vtf_ctx *c = new_ctx(0);
	if (!c)
		return;
	int r = vtf_vmgenid_listen_start();
	CHECK(r == -ENODEV || r == -ENOENT || r == -EACCES);
	CHECK(strstr(vtf_strerror(-ENODEV), "vtrust_vmgenid") != NULL);
	struct vtf_status st = status(c);
	CHECK(!(st.signals & (VTF_SIGNAL_VMGENID | VTF_SIGNAL_VMFORK)));
	CHECK(st.signals & VTF_SIGNAL_FORK);
	CHECK(!(st.signals & VTF_SIGNAL_LEAK));
	uint8_t leak[32] = {1};
	CHECK_EQ(vtf_leak_filled(c, leak, sizeof(leak)), 0);
	CHECK(status(c).signals & VTF_SIGNAL_LEAK);
	vtf_free(c);
	struct vtf_ctx *n = new_ctx(VTF_OPT_NO_FORK_DETECT);
	if (n) {
		CHECK(!(status(n).signals & VTF_SIGNAL_FORK));
		vtf_free(n);
	}
}

/* A generator created before the device appears attaches on a later poll. */
static void test_late_attach(struct vtf_ctx *early)
{
	uint8_t out[32];
	CHECK(!(status(early).signals & VTF_SIGNAL_VMGENID));
	CHECK_EQ(vtf__genid_use(id, &fork_count), 0);
	/* Within the next source poll (100 ms gate). */
	bool attached = false;
	for (int i = 0; i < 100 && !attached; i++) {
		CHECK_EQ(vtf_generate(early, out, sizeof(out)), 0);
		attached = (status(early).signals & VTF_SIGNAL_VMGENID) != 0;
		sleep_ms(5);
	}
	CHECK(attached);
	CHECK_EQ(vtf_vmgenid_listen_start(), 0);
	struct vtf_status st = status(early);
	CHECK(st.signals & VTF_SIGNAL_VMFORK);
	CHECK_EQ(st.generations, 0); /* adopting the current ID is not a generation */
}

static void test_new_id_with_counter(void)
{
	struct vtf_ctx *c = new_ctx(NO_REAL), *off = new_ctx(NO_REAL | VTF_OPT_NO_VMGENID);
	uint8_t out[64];
	if (!c || !off)
		return;
	CHECK(!(status(off).signals & VTF_SIGNAL_VMGENID));
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	CHECK(!vtf__check_generation(c));

	/* The hypervisor writes a new ID; the kernel has not reseeded yet. */
	id[1] ^= 0xabcdef;
	CHECK(vtf__check_generation(c));
	CHECK(!vtf__check_generation(off));
	/* Output at once: the new ID counts as fresh input (no RDRAND, no getrandom here). */
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	struct vtf_status st = status(c);
	CHECK(st.state & VTF_STATE_WAITING_KERNEL);
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED));
	CHECK_EQ(st.vmgenid_changes, 1);
	CHECK_EQ(st.generations, 1);
	CHECK_EQ(st.fast_reseeds, 1);
	CHECK_EQ(st.kernel_reseeds, 0);
	CHECK_EQ(status(off).generations, 0);
	/* Still waiting for the kernel after many calls. */
	for (int i = 0; i < 10; i++)
		CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	CHECK(status(c).state & VTF_STATE_WAITING_KERNEL);
	CHECK_EQ(status(c).fast_reseeds, 1);

	/* The kernel's VM-fork notifier ran: a follow-up reseed, not a new generation. */
	fork_count++;
	CHECK(vtf__check_generation(c));
	CHECK(status(c).state & VTF_STATE_WAITING_RESEED);
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	st = status(c);
	CHECK(!(st.state & (VTF_STATE_WAITING_KERNEL | VTF_STATE_WAITING_RESEED)));
	CHECK_EQ(st.generations, 1);
	CHECK_EQ(st.fast_reseeds, 2);
	CHECK_EQ(st.kernel_reseeds, 1);

	/* ID and counter both moved before the next call: one generation, no wait. */
	id[0]++;
	fork_count++;
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	st = status(c);
	CHECK(!(st.state & VTF_STATE_WAITING_KERNEL));
	CHECK_EQ(st.generations, 2);
	CHECK_EQ(st.vmgenid_changes, 2);
	CHECK_EQ(st.kernel_reseeds, 2);
	vtf_free(c);
	vtf_free(off);
}

/* Two snapshot copies of one generator, each in a VM with its own new ID. */
static void test_clones_diverge(void)
{
	struct vtf_ctx *a = new_ctx(NO_REAL), *b = new_ctx(NO_REAL);
	uint64_t ida[2], idb[2];
	uint8_t oa[4096], ob[4096];
	if (!a || !b)
		return;
	CHECK_EQ(vtf__snapshot_copy(b, a), 0);
	/* Control: copies with an unchanged ID share their output. */
	CHECK_EQ(vtf_generate(a, oa, sizeof(oa)), 0);
	CHECK_EQ(vtf_generate(b, ob, sizeof(ob)), 0);
	CHECK(memcmp(oa, ob, sizeof(oa)) == 0);

	CHECK_EQ(vtf__snapshot_copy(b, a), 0);
	memcpy(ida, id, sizeof(id));
	memcpy(idb, id, sizeof(id));
	a->gid = (_Atomic uint64_t *)ida; /* each copy sees its own VM's page */
	b->gid = (_Atomic uint64_t *)idb;
	ida[0] ^= 1;
	idb[0] ^= 2;
	CHECK_EQ(vtf_generate(a, oa, sizeof(oa)), 0);
	CHECK_EQ(vtf_generate(b, ob, sizeof(ob)), 0);
	bool shared = false;
	for (size_t i = 0; i < sizeof(oa); i += 16)
		for (size_t j = 0; j < sizeof(ob); j += 16)
			shared |= memcmp(oa + i, ob + j, 16) == 0;
	CHECK(!shared);
	a->gid = b->gid = (_Atomic uint64_t *)id;
	vtf_free(a);
	vtf_free(b);
}

/* Without a VM-fork counter: getrandom waits kernel_wait_ms, then comes back. */
static void test_bounded_wait(void)
{
	uint64_t id2[2] = {5, 6};
	struct vtf_options o = {.flags = VTF_OPT_NO_RDRAND, .kernel_wait_ms = 60};
	struct vtf_ctx *c = NULL;
	uint8_t out[32];
	CHECK_EQ(vtf__genid_use(id2, NULL), 0);
	if (vtf_new(&o, &c) < 0)
		return;
	CHECK(!(status(c).signals & VTF_SIGNAL_VMFORK));
	CHECK(status(c).signals & VTF_SIGNAL_VMGENID);
	id2[1] = 99;
	uint64_t t0 = mono_ms();
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
	CHECK(status(c).state & VTF_STATE_WAITING_KERNEL);
	uint64_t waited = 0;
	while (status(c).state & VTF_STATE_WAITING_KERNEL) {
		CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0);
		waited = mono_ms() - t0;
		if (waited > 5000)
			break;
		sleep_ms(2);
	}
	CHECK(waited >= 60);
	CHECK(waited < 5000);
	struct vtf_status st = status(c);
	CHECK_EQ(st.kernel_reseeds, 1);
	CHECK_EQ(st.generations, 1);
	CHECK_EQ(st.fast_reseeds, 2);
	CHECK(st.inputs & VTF_INPUT_GETRANDOM);
	vtf_free(c);
}

int main(void)
{
	struct vtf_ctx *early = new_ctx(0);
	TEST_RUN(test_no_device);
	if (early)
		test_late_attach(early);
	printf("%s test_late_attach\n", test_failures ? "FAIL" : "PASS");
	vtf_free(early);
	TEST_RUN(test_new_id_with_counter);
	TEST_RUN(test_clones_diverge);
	TEST_RUN(test_bounded_wait);
	TEST_DONE();
}
