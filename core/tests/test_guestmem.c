/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory table: validation on add, exact bounds on translation. */
#include <sys/mman.h>

#include "mock_guest.h"
#include "test_util.h"

static int make_fd(size_t size)
{
	int fd = memfd_create("t", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	return fd;
}

static void test_add_rejects(void)
{
	struct vt_guestmem m;
	vt_guestmem_init(&m);
	int fd = make_fd(0x10000);
	struct vhost_user_mem_region ok = {0x0, 0x8000, 0x1000000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &ok, fd), 0);

	struct vhost_user_mem_region zero = {0x100000, 0, 0x2000000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &zero, fd), -EINVAL);
	struct vhost_user_mem_region gpa_wrap = {UINT64_MAX - 0x100, 0x1000, 0x3000000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &gpa_wrap, fd), -EINVAL);
	struct vhost_user_mem_region uva_wrap = {0x200000, 0x1000, UINT64_MAX - 0x10, 0};
	CHECK_EQ(vt_guestmem_add(&m, &uva_wrap, fd), -EINVAL);
	struct vhost_user_mem_region off_wrap = {0x200000, 0x1000, 0x4000000, UINT64_MAX};
	CHECK_EQ(vt_guestmem_add(&m, &off_wrap, fd), -EINVAL);
	struct vhost_user_mem_region gpa_overlap = {0x7000, 0x1000, 0x5000000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &gpa_overlap, fd), -EINVAL);
	struct vhost_user_mem_region uva_overlap = {0x300000, 0x1000, 0x1007000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &uva_overlap, fd), -EINVAL);
	/* Claims more of the file than it has: would SIGBUS on access. */
	struct vhost_user_mem_region beyond = {0x400000, 0x8000, 0x6000000, 0x9000};
	CHECK_EQ(vt_guestmem_add(&m, &beyond, fd), -EINVAL);
	CHECK_EQ(m.nregions, 1);

	/* Unaligned mmap_offset works (the offset rule maps from 0). */
	struct vhost_user_mem_region odd = {0x500000, 0x1000, 0x7000000, 0x8001};
	CHECK_EQ(vt_guestmem_add(&m, &odd, fd), 0);
	CHECK_EQ(m.nregions, 2);

	struct vhost_user_mem_region bad_rem = {0x500000, 0x1000, 0x7000001, 0};
	CHECK_EQ(vt_guestmem_remove(&m, &bad_rem), -ENOENT);
	struct vhost_user_mem_region rem = {0x500000, 0x1000, 0x7000000, 0x1234 /* ignored */};
	CHECK_EQ(vt_guestmem_remove(&m, &rem), 0);
	CHECK_EQ(m.nregions, 1);
	vt_guestmem_clear(&m);
	CHECK_EQ(m.nregions, 0);
	close(fd);
}

static void test_table_full(void)
{
	struct vt_guestmem m;
	vt_guestmem_init(&m);
	int fd = make_fd(0x1000);
	for (unsigned i = 0; i < VT_MAX_MEM_SLOTS; i++) {
		struct vhost_user_mem_region r = {i * 0x10000ull, 0x1000, 0x1000000 + i * 0x10000ull, 0};
		CHECK_EQ(vt_guestmem_add(&m, &r, fd), 0);
	}
	struct vhost_user_mem_region r = {0x9000000, 0x1000, 0x9000000, 0};
	CHECK_EQ(vt_guestmem_add(&m, &r, fd), -ENOSPC);
	vt_guestmem_clear(&m);
	close(fd);
}

static void test_translate(void)
{
	struct mock_guest g;
	mock_guest_init(&g);
	uint64_t got = 0;
	/* Distinct mappings of one memfd: compare through a written marker. */
	*(uint8_t *)mock_gpa(&g, 0x10) = 0xab;
	*(uint8_t *)mock_gpa(&g, 0x100) = 0xcd;
	uint8_t *p = vt_guestmem_gpa_prefix(&g.mem, 0x10, 0x20, &got);
	CHECK(p && *p == 0xab);
	CHECK_EQ(got, 0x20);
	/* Straddles regions 0 and 1: the prefix stops at the boundary. */
	p = vt_guestmem_gpa_prefix(&g.mem, MOCK_R1_GPA - 8, 32, &got);
	CHECK(p != NULL);
	CHECK_EQ(got, 8);
	CHECK(vt_guestmem_gpa_range(&g.mem, MOCK_R1_GPA - 8, 32) == NULL);
	CHECK(vt_guestmem_gpa_range(&g.mem, MOCK_R1_GPA - 8, 8) != NULL);
	/* Gap between region 1 and 2. */
	CHECK(vt_guestmem_gpa_prefix(&g.mem, 0x300000, 1, &got) == NULL);
	/* Last byte of region 2, and one past it. */
	CHECK(vt_guestmem_gpa_range(&g.mem, MOCK_R2_GPA + 0x3ffff, 1) != NULL);
	CHECK(vt_guestmem_gpa_range(&g.mem, MOCK_R2_GPA + 0x3ffff, 2) == NULL);
	CHECK(vt_guestmem_gpa_prefix(&g.mem, MOCK_R2_GPA + 0x40000, 1, &got) == NULL);
	/* Zero length and wrapping ranges never translate. */
	CHECK(vt_guestmem_gpa_prefix(&g.mem, 0x10, 0, &got) == NULL);
	CHECK(vt_guestmem_gpa_prefix(&g.mem, 0x10, UINT64_MAX, &got) == NULL);
	CHECK(vt_guestmem_gpa_range(&g.mem, UINT64_MAX, 1) != (uint8_t *)1);
	/* uva translation must fit in one region entirely. */
	p = vt_guestmem_uva_range(&g.mem, mock_uva(0x100), 0x100);
	CHECK(p && *p == 0xcd);
	CHECK(vt_guestmem_uva_range(&g.mem, mock_uva(MOCK_R1_GPA - 4), 8) == NULL);
	CHECK(vt_guestmem_uva_range(&g.mem, 0x1234, 8) == NULL);
	CHECK(vt_guestmem_uva_range(&g.mem, UINT64_MAX - 2, 8) == NULL);
	mock_guest_free(&g);
}

int main(void)
{
	vt_guestmem_set_prefault(false);
	TEST_RUN(test_add_rejects);
	TEST_RUN(test_table_full);
	TEST_RUN(test_translate);
	TEST_DONE();
}
