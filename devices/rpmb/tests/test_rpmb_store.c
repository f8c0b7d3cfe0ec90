/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store under power loss and corruption.
 *
 * test_power_loss drives random writes through the device logic over a
 * simulated disk, cuts the power after a random number of I/O operations
 * (unsynced sectors are lost, kept or torn at random), reopens and checks
 * against a model: the counter never goes back, every acknowledged write
 * reads back, the write in flight is applied completely or not at all.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "journal.h"
#include "test_util.h"

#define CAP_BLOCKS 512u

struct model {
	uint8_t data[CAP_BLOCKS * 256];
	uint32_t counter;
	bool key;
};

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seed * 2654435761u + i * 40503u) >> 7);
}

static bool verify(struct fx *f, struct model *m, bool inflight, uint16_t iaddr, uint16_t inblk,
		   const uint8_t *idata, bool inflight_key)
{
	bool ok = true;
	uint16_t res;
	uint32_t c = 0;
	bool key = f->d->store->st.flags & RPMB_ST_KEY;
	if (inflight_key) {
		/* PROGRAM_KEY in flight: programmed or not, nothing else. */
		m->key = key;
		if (!key)
			return f->d->store->st.counter == m->counter;
	}
	if (key != m->key) {
		fprintf(stderr, "key state %d, model %d\n", key, m->key);
		return false;
	}
	if (!key)
		return f->d->store->st.counter == m->counter;
	c = fx_counter(f, &res);
	if (res != RPMB_RES_OK)
		return false;
	if (inflight && c == m->counter + 1) {
		memcpy(m->data + (size_t)iaddr * 256, idata, (size_t)inblk * 256);
		m->counter++;
	}
	if (c != m->counter) {
		fprintf(stderr, "counter %u, model %u (inflight %d)\n", c, m->counter, inflight);
		return false;
	}
	uint8_t back[8 * 256];
	for (uint16_t a = 0; a < CAP_BLOCKS; a += 8) {
		if (fx_read(f, a, 8, back) != RPMB_RES_OK)
			return false;
		if (vt_ct_memcmp(back, m->data + (size_t)a * 256, sizeof(back)) != 0) {
			fprintf(stderr, "data mismatch in blocks %u..%u\n", a, a + 7);
			ok = false;
		}
	}
	return ok;
}

/*
 * max_wr 8: both copies of every record fit one page each, in either layout.
 * max_wr 32: a version 3 slot's copies sit where a record's length puts them
 * (short records in two pages around the middle), a version 2 slot's at
 * fixed places; writes of 1..32 blocks, mostly short, mix the two in a slot.
 */
static void power_loss(uint8_t max_wr, uint32_t version, int cycles)
{
	struct fx f;
	fx_init_v(&f, 1, max_wr, 8, 0, version);
	static struct model m;
	memset(&m, 0, sizeof(m));
	unsigned seed = 42 + max_wr + version;
	int bad = 0, inflight_applied = 0, torn_seen = 0;
	uint8_t idata[32 * 256];
	for (int cyc = 0; cyc < cycles; cyc++) {
		bool inflight = false, inflight_key = false;
		uint16_t iaddr = 0, inblk = 0;
		f.disk.fail_after =
		    rand_r(&seed) % (cyc % 2 ? 24 : 200); /* short and ring-wrapping runs */
		if (!m.key) {
			if (fx_program(&f) == RPMB_RES_OK)
				m.key = true;
			else
				inflight_key = true;
		}
		while (m.key && !inflight_key) {
			inblk = (uint16_t)(1 + rand_r(&seed) % (rand_r(&seed) % 4 ? 8 : max_wr));
			iaddr = (uint16_t)(rand_r(&seed) % (CAP_BLOCKS - inblk + 1));
			pattern(idata, (size_t)inblk * 256, (uint32_t)rand_r(&seed));
			uint16_t r = fx_write(&f, m.counter, iaddr, inblk, idata);
			if (r != RPMB_RES_OK) {
				inflight = true;
				break;
			}
			memcpy(m.data + (size_t)iaddr * 256, idata, (size_t)inblk * 256);
			m.counter++;
		}
		if (cyc % 3 == 0) {
			/* Power loss after the process closed the store (pending apply written). */
			rpmb_dev_free(f.d);
			f.d = NULL;
			simdisk_crash(&f.disk);
		} else {
			/* Power loss with the process still running: nothing more reaches the disk.
			 */
			f.d->store->pending = false;
			simdisk_crash(&f.disk);
			rpmb_dev_free(f.d);
			f.d = NULL;
		}
		if (fx_open(&f, 8) < 0) {
			bad++;
			break;
		}
		torn_seen += f.d->store->recovered_blocks > 0;
		uint32_t before = m.counter;
		if (!verify(&f, &m, inflight, iaddr, inblk, idata, inflight_key)) {
			fprintf(stderr, "cycle %d failed\n", cyc);
			bad++;
		}
		inflight_applied += m.counter == before + 1;
	}
	printf("power-loss (max_wr %u, version %u): %d cycles, final counter %u, in-flight writes "
	       "that committed %d, recoveries that redid a record %d, failures %d\n",
	       max_wr, f.d ? f.d->store->version : 0, cycles, m.counter, inflight_applied,
	       torn_seen, bad);
	if (f.d)
		CHECK_EQ(f.d->store->version, version ? version : RPMB_STORE_VERSION);
	CHECK_EQ(bad, 0);
	CHECK(m.counter > 100);
	CHECK(inflight_applied > 0);
	fx_free(&f);
}

static void test_power_loss(void)
{
	power_loss(8, 0, 600);
	power_loss(32, 0, 400);
	power_loss(32, 2, 300); /* stores written before version 3 keep working */
}

static struct fx *g;

static int reopen(char *err, size_t n)
{
	struct rpmb_io io;
	simdisk_io(&g->disk, &io);
	struct rpmb_store *s = NULL;
	int r = rpmb_store_open_io(&io, &s, err, n);
	rpmb_store_close(s);
	return r;
}

static void test_corruption(void)
{
	struct fx f;
	g = &f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[256] = {1};
	CHECK_EQ(fx_write(&f, 0, 0, 1, data), RPMB_RES_OK);
	struct rpmb_store *s = f.d->store;
	uint64_t so[RPMB_SLOTS];
	memcpy(so, s->slot_off, sizeof(so));
	/* Record 1 (the key, no blocks) and record 2 (one block): a byte in each copy. */
	uint64_t s1 = so[1] + rpmb_copy_off(s, 0, 0, 20), s1b = so[1] + rpmb_copy_off(s, 1, 0, 20);
	uint64_t s2 = so[2] + rpmb_copy_off(s, 0, 1, 300), s2b = so[2] + rpmb_copy_off(s, 1, 1, 300);
	uint64_t seq_a = rpmb_copy_off(s, 0, 0, 8), seq_b = rpmb_copy_off(s, 1, 0, 8);
	rpmb_dev_free(f.d);
	f.d = NULL;
	char err[256];
	CHECK_EQ(reopen(err, sizeof(err)), 0);
	/* A torn newest record (both copies of slot 2, record 2): the older one is used. */
	f.disk.cache[s2] ^= 1;
	f.disk.cache[s2b] ^= 1;
	CHECK_EQ(reopen(err, sizeof(err)), 0);
	CHECK_EQ(fx_open(&f, 4), 0);
	CHECK_EQ(f.d->store->st.seq, 1);
	CHECK_EQ(f.d->store->st.counter, 0);
	rpmb_dev_free(f.d);
	f.d = NULL;
	f.disk.cache[s2] ^= 1;
	f.disk.cache[s2b] ^= 1;
	/* A record missing in the middle (both copies): refused, never re-initialised. */
	f.disk.cache[s1] ^= 1;
	f.disk.cache[s1b] ^= 1;
	CHECK_EQ(reopen(err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "record 1 is missing or damaged in both copies") != NULL);
	/* No valid record at all. */
	for (unsigned i = 0; i < RPMB_SLOTS; i++) {
		f.disk.cache[so[i] + seq_a] ^= 0xff;
		f.disk.cache[so[i] + seq_b] ^= 0xff;
	}
	CHECK_EQ(reopen(err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "no valid journal record") != NULL);
	for (unsigned i = 0; i < RPMB_SLOTS; i++) {
		f.disk.cache[so[i] + seq_a] ^= 0xff;
		f.disk.cache[so[i] + seq_b] ^= 0xff;
	}
	f.disk.cache[s1] ^= 1;
	f.disk.cache[s1b] ^= 1;
	CHECK_EQ(reopen(err, sizeof(err)), 0);
	/* Superblock damage. */
	f.disk.cache[13] ^= 1;
	CHECK_EQ(reopen(err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "superblock") != NULL);
	f.disk.cache[13] ^= 1;
	f.disk.cache[0] = 'X';
	CHECK_EQ(reopen(err, sizeof(err)), -EBADMSG);
	f.disk.cache[0] = 'V';
	/* Truncated. */
	f.disk.size -= 256;
	CHECK_EQ(reopen(err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "truncated") != NULL);
	f.disk.size += 256;
	CHECK_EQ(reopen(err, sizeof(err)), 0);
	fx_free(&f);
}

/*
 * Attack 3 (issue 12): one flipped bit in the newest journal record, in its
 * header or in its data, must not lower the counter (that write was
 * acknowledged; its counter value would be reused). Nor may a flipped bit in
 * an older record of the ring lose anything.
 */
static void test_newest_record_bitflip(void)
{
	static const unsigned where[] = {REC_OFF_SEQ + 1, REC_OFF_COUNTER, REC_OFF_SUM + 3,
					 RPMB_REC_HDR_SIZE + 17, RPMB_REC_HDR_SIZE + 511};
	for (unsigned w = 0; w < VT_ARRAY_SIZE(where) * 2; w++) {
		for (unsigned copy = 0; copy < 2; copy++) {
			/* Both geometries: copies in one page each, or in a longer slot. */
			struct fx f;
			fx_init(&f, 1, w % 2 ? 32 : 4, 4, 0);
			CHECK_EQ(fx_program(&f), RPMB_RES_OK);
			uint8_t data[2 * 256];
			for (uint32_t c = 0; c < 5; c++) {
				pattern(data, sizeof(data), c);
				CHECK_EQ(fx_write(&f, c, (uint16_t)(2 * c), 2, data), RPMB_RES_OK);
			}
			struct rpmb_store *s = f.d->store;
			uint64_t seq = s->st.seq, off = s->slot_off[seq % RPMB_SLOTS] +
							rpmb_copy_off(s, copy, 2, where[w / 2]);
			rpmb_dev_free(f.d);
			f.d = NULL;
			f.disk.cache[off] ^= 0x10;
			CHECK_EQ(fx_open(&f, 4), 0);
			uint16_t res;
			CHECK_EQ(fx_counter(&f, &res), 5);
			CHECK_EQ(res, RPMB_RES_OK);
			uint8_t back[2 * 256];
			CHECK_EQ(fx_read(&f, 8, 2, back), RPMB_RES_OK);
			CHECK(memcmp(back, data, sizeof(back)) == 0);
			/* The write at counter 5 is a new one, never a reuse of 4. */
			CHECK_EQ(fx_write(&f, 4, 0, 1, data), RPMB_RES_COUNT_FAILURE);
			CHECK_EQ(fx_write(&f, 5, 0, 1, data), RPMB_RES_OK);
			/* The damaged copy was repaired: a flip in the other copy is survived too. */
			CHECK(f.d->store->repaired_copies >= 1);
			fx_free(&f);
		}
	}
}

/*
 * One bad sector anywhere in the journal, after random writes and a power
 * cut, never loses an acknowledged write and never lowers the counter.
 */
static void bad_sector(uint8_t max_wr, uint32_t version)
{
	struct fx f;
	fx_init_v(&f, 1, max_wr, 8, 0, version);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	static struct model m;
	memset(&m, 0, sizeof(m));
	m.key = true;
	unsigned seed = 7;
	int bad = 0;
	uint8_t idata[32 * 256];
	for (int cyc = 0; cyc < 200; cyc++) {
		int writes = 1 + rand_r(&seed) % 40;
		for (int k = 0; k < writes; k++) {
			uint16_t nb = (uint16_t)(1 + rand_r(&seed) % (rand_r(&seed) % 4 ? 8 : max_wr));
			uint16_t a = (uint16_t)(rand_r(&seed) % (CAP_BLOCKS - nb + 1));
			pattern(idata, (size_t)nb * 256, (uint32_t)rand_r(&seed));
			CHECK_EQ(fx_write(&f, m.counter, a, nb, idata), RPMB_RES_OK);
			memcpy(m.data + (size_t)a * 256, idata, (size_t)nb * 256);
			m.counter++;
		}
		struct rpmb_store *s = f.d->store;
		uint64_t jlen = s->data_off - s->slot_off[0];
		uint64_t sector = s->slot_off[0] / 512 + (uint64_t)rand_r(&seed) % (jlen / 512);
		/* The process still running at the power cut: nothing more reaches the disk. */
		f.d->store->pending = false;
		simdisk_crash(&f.disk);
		rpmb_dev_free(f.d);
		f.d = NULL;
		/* The bad sector: every byte of it rotten. */
		for (unsigned b = 0; b < 512; b++)
			f.disk.cache[sector * 512 + b] ^= (uint8_t)(0x5a + b);
		memcpy(f.disk.durable + sector * 512, f.disk.cache + sector * 512, 512);
		if (fx_open(&f, 8) < 0) {
			fprintf(stderr, "cycle %d: refused after one bad sector\n", cyc);
			bad++;
			break;
		}
		if (!verify(&f, &m, false, 0, 0, NULL, false)) {
			fprintf(stderr, "cycle %d: lost state after one bad sector %llu\n", cyc,
				(unsigned long long)sector);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	fx_free(&f);
}

static void test_bad_sector(void)
{
	bad_sector(8, 0);
	bad_sector(32, 0);
	bad_sector(32, 2);
}

/*
 * Attack 4 (issue 12): a flipped bit in a data block whose record has left
 * the journal reads back as READ_FAILURE (counted), never OK with wrong bytes;
 * its neighbours still read.
 */
static void test_data_rot(void)
{
	struct fx f;
	fx_init(&f, 1, 4, 4, 0);
	CHECK_EQ(fx_program(&f), RPMB_RES_OK);
	uint8_t data[256], back[4 * 256];
	pattern(data, sizeof(data), 99);
	CHECK_EQ(fx_write(&f, 0, 10, 1, data), RPMB_RES_OK);
	for (uint32_t c = 1; c < 3 * RPMB_SLOTS; c++) /* the record leaves the ring */
		CHECK_EQ(fx_write(&f, c, 100, 1, data), RPMB_RES_OK);
	rpmb_dev_free(f.d);
	f.d = NULL;
	CHECK_EQ(fx_open(&f, 4), 0);
	uint64_t off = f.d->store->data_off + 10 * 256 + 77;
	f.disk.cache[off] ^= 0x04;
	CHECK_EQ(fx_read(&f, 10, 1, back), RPMB_RES_READ_FAILURE);
	CHECK_EQ(fx_read(&f, 8, 4, back), RPMB_RES_READ_FAILURE);
	CHECK_EQ(f.d->store->damaged_blocks, 2);
	CHECK_EQ(fx_read(&f, 11, 1, back), RPMB_RES_OK);
	/* A damaged tag is a damaged block too. */
	f.disk.cache[off] ^= 0x04;
	CHECK_EQ(fx_read(&f, 10, 1, back), RPMB_RES_OK);
	CHECK(memcmp(back, data, 256) == 0);
	f.disk.cache[f.d->store->tag_off + 11 * RPMB_TAG_SIZE] ^= 1;
	CHECK_EQ(fx_read(&f, 11, 1, back), RPMB_RES_READ_FAILURE);
	/* Rewriting the block heals it. */
	uint16_t res;
	uint32_t c = fx_counter(&f, &res);
	CHECK_EQ(fx_write(&f, c, 11, 1, data), RPMB_RES_OK);
	CHECK_EQ(fx_read(&f, 11, 1, back), RPMB_RES_OK);
	fx_free(&f);
}

/*
 * The layout (issue 18): a one-block record's two copies are one range of two
 * 4 KiB pages in a version 3 store (copy A ends where copy B begins), four
 * in a version 2 store with max_wr_cnt 32; both copies are complete either
 * way, and a version 2 store stays version 2 across reopens.
 */
static void test_layout(void)
{
	for (uint32_t v = 2; v <= 3; v++) {
		struct fx f;
		fx_init_v(&f, 1, 32, 4, 0, v);
		CHECK_EQ(fx_program(&f), RPMB_RES_OK);
		uint8_t data[256];
		pattern(data, sizeof(data), 5);
		uint64_t before = f.disk.written, syncs = f.d->store->range_syncs;
		CHECK_EQ(fx_write(&f, 0, 3, 1, data), RPMB_RES_OK);
		CHECK_EQ(f.d->store->range_syncs, syncs + 1);
		struct rpmb_store *s = f.d->store;
		uint64_t commit = f.disk.written - before;
		rpmb_store_apply(s);
		CHECK_EQ(commit, v == 3 ? 8192u : 16384u);
		/* Both copies on the platter (the range flush), each byte where the layout says. */
		uint64_t slot = s->slot_off[s->st.seq % RPMB_SLOTS];
		for (unsigned c = 0; c < 2; c++) {
			CHECK(memcmp(f.disk.durable + slot + rpmb_copy_off(s, c, 1, 0), RPMB_REC_MAGIC,
				     8) == 0);
			CHECK(memcmp(f.disk.durable + slot + rpmb_copy_off(s, c, 1, 256), data, 256) ==
			      0);
		}
		if (v == 3) {
			/* Copy A ends exactly where copy B starts, mid-slot, on a page boundary. */
			CHECK_EQ(rpmb_copy_off(s, 0, 1, 256), s->slot_size - 512);
			CHECK_EQ(rpmb_copy_off(s, 0, 1, 0), s->slot_size - 256);
			CHECK_EQ(s->slot_size % 4096, 0);
		}
		rpmb_dev_free(f.d);
		f.d = NULL;
		CHECK_EQ(fx_open(&f, 4), 0);
		CHECK_EQ(f.d->store->version, v);
		uint8_t back[256];
		CHECK_EQ(fx_read(&f, 3, 1, back), RPMB_RES_OK);
		CHECK(memcmp(back, data, 256) == 0);
		fx_free(&f);
	}
}

static void test_file(void)
{
	char dir[] = "/tmp/rpmb-test-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/s.rpmb", dir);
	struct rpmb_create c = {.geom = {.capacity = 1, .max_wr = 4}};
	struct rpmb_store *s = NULL, *s2 = NULL;
	char err[256];
	/* Missing and create == NULL: refused. */
	CHECK_EQ(rpmb_store_open_file(path, NULL, &s, err, sizeof(err)), -ENOENT);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), 0);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ((uint64_t)st.st_size, rpmb_store_file_size(&c.geom));
	/* Exclusive: a second opener (another daemon, or instance) is refused. */
	CHECK_EQ(rpmb_store_open_file(path, &c, &s2, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "in use") != NULL);
	/*
	 * Attack 5 (issue 12): a copy renamed over the path (a new inode, the
	 * same store) while it is served: a second opener is still refused.
	 */
	char copy[300], cmd[700];
	snprintf(copy, sizeof(copy), "%s/copy.rpmb", dir);
	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", path, copy);
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(rename(copy, path), 0);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s2, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "copy of it") != NULL);
	/* And the copy under another name in the same directory. */
	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", path, copy);
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(rpmb_store_open_file(copy, &c, &s2, err, sizeof(err)), -EBUSY);
	unlink(copy);
	rpmb_store_close(s);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), 0); /* released */
	rpmb_store_close(s);
	/* Mode. */
	CHECK_EQ(chmod(path, 0640), 0);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), -EPERM);
	CHECK_EQ(chmod(path, 0600), 0);
	/* A truncated file is refused and left alone. */
	CHECK_EQ(truncate(path, 8192), 0);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), -EBADMSG);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, 8192);
	/* An empty file too. */
	CHECK_EQ(truncate(path, 0), 0);
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), -EBADMSG);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/.rpmb-*.lock", dir);
	CHECK_EQ(system(cmd), 0);
	rmdir(dir);
}

/*
 * Journal writes of a store file go through O_DIRECT (issue 18) where the
 * file system allows it: both copies are on the device when the commit
 * returns, as an O_DIRECT read (past the page cache) shows, and a write the
 * O_DIRECT fd cannot take (not page aligned) still goes out durably.
 */
static void test_direct_io(void)
{
	char dir[] = "/tmp/rpmb-dio-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/s.rpmb", dir);
	struct rpmb_create c = {.geom = {.capacity = 1, .max_wr = 32}};
	struct rpmb_store *s = NULL;
	char err[256];
	CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), 0);
	int probe = open(path, O_RDONLY | O_DIRECT);
	if (probe < 0) {
		printf("SKIP: no O_DIRECT on %s\n", dir);
	} else {
		close(probe);
		CHECK(s->fdio.dfd >= 0);
		struct rpmb_state next = s->st;
		next.counter = 7;
		uint8_t data[3 * 256];
		pattern(data, sizeof(data), 3);
		CHECK_EQ(rpmb_store_commit(s, &next, 4, 3, data), 0);
		CHECK_EQ(s->fdio.direct_writes, 1);
		uint64_t slot = s->slot_off[s->st.seq % RPMB_SLOTS];
		int dfd = open(path, O_RDONLY | O_DIRECT);
		CHECK(dfd >= 0);
		uint8_t *img = aligned_alloc(4096, 2 * s->slot_size);
		CHECK(img != NULL);
		CHECK_EQ(pread(dfd, img, 2 * s->slot_size, (off_t)slot), (ssize_t)(2 * s->slot_size));
		for (unsigned k = 0; k < 2; k++) {
			CHECK(memcmp(img + rpmb_copy_off(s, k, 3, 0), RPMB_REC_MAGIC, 8) == 0);
			CHECK_EQ(vt_get_le32(img + rpmb_copy_off(s, k, 3, REC_OFF_COUNTER)), 7);
			CHECK(memcmp(img + rpmb_copy_off(s, k, 3, 256), data, sizeof(data)) == 0);
		}
		/* Not page aligned: the buffered RWF_DSYNC path, still on the device. */
		uint8_t small[512];
		memset(small, 0xa5, sizeof(small));
		uint64_t off = s->data_off + 512;
		CHECK_EQ(s->io.pwrite_dsync(s->io.ctx, small, sizeof(small), off), (ssize_t)sizeof(small));
		CHECK_EQ(s->fdio.direct_writes, 1);
		CHECK_EQ(pread(dfd, img, 4096, (off_t)(off & ~4095ull)), 4096);
		CHECK(memcmp(img + 512, small, sizeof(small)) == 0);
		free(img);
		close(dfd);
		rpmb_store_close(s);
		s = NULL;
		/* Recovery reads (buffered) what went out through O_DIRECT. */
		CHECK_EQ(rpmb_store_open_file(path, &c, &s, err, sizeof(err)), 0);
		CHECK_EQ(s->st.counter, 7);
		uint8_t back[3 * 256];
		CHECK_EQ(rpmb_store_read(s, 4, 3, back), 0);
		CHECK(memcmp(back, data, sizeof(back)) == 0);
	}
	rpmb_store_close(s);
	unlink(path);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/.rpmb-*.lock", dir);
	CHECK_EQ(system(cmd), 0);
	rmdir(dir);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	TEST_RUN(test_power_loss);
	TEST_RUN(test_corruption);
	TEST_RUN(test_newest_record_bitflip);
	TEST_RUN(test_bad_sector);
	TEST_RUN(test_data_rot);
	TEST_RUN(test_layout);
	TEST_RUN(test_file);
	TEST_RUN(test_direct_io);
	TEST_DONE();
}
