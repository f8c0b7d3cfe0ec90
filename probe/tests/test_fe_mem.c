/* SPDX-License-Identifier: Apache-2.0 */
/* fe_mem: layouts, allocator invariants, cross-region copies. */
#include "fe_mem.h"
#include "test_util.h"

TEST(q35_layout)
{
	struct fe_mem *m;
	CHECK_EQ(fe_mem_create(NULL, &m), 0);
	CHECK_EQ(m->nregions, 2);
	CHECK_EQ(m->regions[0].gpa, 0);
	CHECK_EQ(m->regions[0].size, 0xa0000);
	CHECK_EQ(m->regions[1].gpa, 0xc0000);
	CHECK_EQ(m->regions[1].fd_offset, 0xc0000);
	CHECK_EQ(m->regions[1].gpa + m->regions[1].size, FE_MEM_DEFAULT_SIZE);
	CHECK_EQ(fe_mem_hole(m), 0xa0000);
	CHECK(fe_mem_find(m, 0xa0000) == NULL);
	CHECK(fe_mem_find(m, 0xbffff) == NULL);
	CHECK(fe_mem_find(m, 0xc0000) == &m->regions[1]);
	CHECK_EQ(fe_mem_free_bytes(m), FE_MEM_DEFAULT_SIZE - 0x20000);

	/* The mapping is shared with the memfd: what we write, the fd holds. */
	uint8_t *p = fe_mem_ptr(m, 0xc0010, 4);
	CHECK(p);
	memcpy(p, "abcd", 4);
	char buf[4];
	CHECK_EQ(pread(m->fd, buf, 4, 0xc0010), 4);
	CHECK(memcmp(buf, "abcd", 4) == 0);

	uint64_t uva;
	CHECK_EQ(fe_mem_gpa_to_uva(m, 0xc0010, 4, &uva), 0);
	CHECK(uva == (uint64_t)(uintptr_t)p);
	CHECK_EQ(fe_mem_gpa_to_uva(m, 0x9fff0, 0x20, &uva), -EFAULT);

	uint64_t gpa;
	CHECK_EQ(fe_mem_alloc_straddle(m, 64, 32, &gpa), -ENOTSUP);
	fe_mem_free(m);
}

TEST(alloc_alignment_and_regions)
{
	struct fe_mem_opts o = {.size = 4 << 20};
	struct fe_mem *m;
	uint64_t a, b, c;
	CHECK_EQ(fe_mem_create(&o, &m), 0);
	uint64_t total = fe_mem_free_bytes(m);

	CHECK_EQ(fe_mem_alloc(m, 100, 4096, &a), 0);
	CHECK_EQ(a % 4096, 0);
	CHECK_EQ(fe_mem_alloc(m, 3, 1, &b), 0);
	CHECK_EQ(fe_mem_alloc(m, 16, 16, &c), 0);
	CHECK_EQ(c % 16, 0);
	CHECK(b >= a + 100 || b + 3 <= a);
	/* A range bigger than what is left of region 0 lands in region 1, whole. */
	uint64_t big;
	CHECK_EQ(fe_mem_alloc(m, 0x9ffc0, 1, &big), 0);
	CHECK(big >= 0xc0000);
	CHECK(fe_mem_ptr(m, big, 0x9ffc0) != NULL);

	CHECK_EQ(fe_mem_alloc(m, 0, 1, &a), -EINVAL);
	CHECK_EQ(fe_mem_alloc(m, 1, 3, &a), -EINVAL);
	CHECK_EQ(fe_mem_alloc(m, 8 << 20, 1, &a), -ENOMEM);

	/* Double free and freeing outside RAM are refused without side effects. */
	CHECK_EQ(fe_mem_release(m, big, 0x9ffc0), 0);
	uint64_t before = fe_mem_free_bytes(m);
	CHECK_EQ(fe_mem_release(m, big, 0x9ffc0), -EINVAL);
	CHECK_EQ(fe_mem_release(m, big + 8, 16), -EINVAL);
	CHECK_EQ(fe_mem_release(m, 0xa0000, 16), -EINVAL);
	CHECK_EQ(fe_mem_release(m, UINT64_MAX - 4, 16), -EINVAL);
	CHECK_EQ(fe_mem_free_bytes(m), before);

	fe_mem_reset(m);
	CHECK_EQ(fe_mem_free_bytes(m), total);
	CHECK_EQ(m->nfree, 2);
	fe_mem_free(m);
}

TEST(adjacent_straddle)
{
	struct fe_mem_opts o = {.size = 2 << 20, .layout = FE_MEM_LAYOUT_ADJACENT, .nregions = 2};
	struct fe_mem *m;
	CHECK_EQ(fe_mem_create(&o, &m), 0);
	const struct fe_mem_region *r0 = &m->regions[0], *r1 = &m->regions[1];
	CHECK_EQ(r0->gpa + r0->size, r1->gpa);
	/* Different fd offsets, and the file gap between them is poisoned. */
	CHECK(r1->fd_offset > r0->fd_offset + r0->size);
	CHECK_EQ(m->map[r0->fd_offset + r0->size], FE_MEM_POISON);
	CHECK_EQ(fe_mem_hole(m), r1->gpa + r1->size);

	uint64_t gpa;
	CHECK_EQ(fe_mem_alloc_straddle(m, 100, 40, &gpa), 0);
	CHECK_EQ(gpa, r1->gpa - 40);
	CHECK(fe_mem_ptr(m, gpa, 100) == NULL);
	CHECK(fe_mem_ptr(m, gpa, 40) != NULL);

	uint8_t in[100], out[100];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	CHECK_EQ(fe_mem_write(m, gpa, in, sizeof(in)), 0);
	CHECK_EQ(fe_mem_read(m, gpa, out, sizeof(out)), 0);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	/* The upper piece really lives at the start of region 1. */
	CHECK_EQ(r1->host[0], 40);
	CHECK_EQ(r0->host[r0->size - 1], 39);

	/* Overlapping the taken bytes makes a second straddle impossible. */
	uint64_t g2;
	CHECK_EQ(fe_mem_alloc_straddle(m, 100, 50, &g2), -ENOMEM);
	CHECK_EQ(fe_mem_alloc_straddle(m, 100, 0, &g2), -EINVAL);

	/* Plain allocations never straddle. */
	uint64_t a;
	CHECK_EQ(fe_mem_alloc(m, r0->size - 40, 1, &a), 0);
	CHECK_EQ(a, r0->gpa);
	CHECK_EQ(fe_mem_alloc(m, 64, 1, &a), 0);
	CHECK(a >= r1->gpa + 60);

	CHECK_EQ(fe_mem_release(m, gpa, 100), 0);
	CHECK_EQ(fe_mem_alloc_straddle(m, 100, 40, &g2), 0);
	CHECK_EQ(g2, gpa);

	/* Out-of-RAM copies fail before touching memory. */
	CHECK_EQ(fe_mem_write(m, r1->gpa + r1->size - 10, in, 20), -EFAULT);
	CHECK_EQ(fe_mem_read(m, UINT64_MAX - 5, out, 20), -EFAULT);
	fe_mem_free(m);
}

TEST(gapped_layout)
{
	struct fe_mem_opts o = {.size = 8 << 20, .layout = FE_MEM_LAYOUT_GAPPED, .nregions = 8};
	struct fe_mem *m;
	CHECK_EQ(fe_mem_create(&o, &m), 0);
	CHECK_EQ(m->nregions, 8);
	for (unsigned i = 1; i < 8; i++)
		CHECK(m->regions[i].gpa > m->regions[i - 1].gpa + m->regions[i - 1].size);
	CHECK(fe_mem_find(m, fe_mem_hole(m)) == NULL);
	uint64_t gpa;
	CHECK_EQ(fe_mem_alloc_straddle(m, 64, 32, &gpa), -ENOTSUP);
	fe_mem_free(m);

	struct fe_mem_opts bad = {.size = 8 << 20, .layout = FE_MEM_LAYOUT_GAPPED, .nregions = 33};
	CHECK_EQ(fe_mem_create(&bad, &m), -EINVAL);
	struct fe_mem_opts small = {.size = 0x80000};
	CHECK_EQ(fe_mem_create(&small, &m), -EINVAL);
}

/* Random allocations against a byte map: no overlap, full coalescing at the end. */
TEST(random_alloc_free)
{
	struct fe_mem_opts o = {.size = 1 << 20, .layout = FE_MEM_LAYOUT_ADJACENT, .nregions = 4};
	struct fe_mem *m;
	CHECK_EQ(fe_mem_create(&o, &m), 0);
	uint64_t total = fe_mem_free_bytes(m);
	uint64_t span = m->regions[3].gpa + m->regions[3].size;
	uint8_t *owner = calloc(span, 1);
	struct {
		uint64_t gpa, size;
	} live[256];
	unsigned nlive = 0;
	unsigned seed = 12345;

	CHECK(owner);
	for (unsigned iter = 0; iter < 20000; iter++) {
		seed = seed * 1103515245u + 12345u;
		bool do_alloc = nlive == 0 || (nlive < 256 && (seed >> 16) % 3 != 0);
		if (do_alloc) {
			uint64_t size = 1 + (seed >> 8) % 9000;
			uint64_t align = 1ull << ((seed >> 4) % 13);
			uint64_t gpa;
			int r;
			if ((seed >> 20) % 7 == 0) {
				size += 1;
				r = fe_mem_alloc_straddle(m, size, 1 + size / 2, &gpa);
			} else {
				r = fe_mem_alloc(m, size, align, &gpa);
			}
			if (r == -ENOMEM)
				continue;
			CHECK_EQ(r, 0);
			for (uint64_t i = 0; i < size; i++) {
				CHECK(owner[gpa + i] == 0);
				owner[gpa + i] = 1;
			}
			live[nlive].gpa = gpa;
			live[nlive].size = size;
			nlive++;
		} else {
			unsigned k = (seed >> 16) % nlive;
			CHECK_EQ(fe_mem_release(m, live[k].gpa, live[k].size), 0);
			memset(owner + live[k].gpa, 0, live[k].size);
			live[k] = live[--nlive];
		}
	}
	while (nlive > 0) {
		nlive--;
		CHECK_EQ(fe_mem_release(m, live[nlive].gpa, live[nlive].size), 0);
	}
	CHECK_EQ(fe_mem_free_bytes(m), total);
	/* Coalescing stops at region boundaries: exactly one extent per region. */
	CHECK_EQ(m->nfree, 4);
	free(owner);
	fe_mem_free(m);
}

int main(void)
{
	RUN(q35_layout);
	RUN(alloc_alignment_and_regions);
	RUN(adjacent_straddle);
	RUN(gapped_layout);
	RUN(random_alloc_free);
	return 0;
}
