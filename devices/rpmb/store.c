/* SPDX-License-Identifier: Apache-2.0 */
/* The store file: superblock, creation, locking, opening. Commits are in journal.c. */
#include <fcntl.h>
#include <stdatomic.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <openssl/rand.h>

#include "journal.h"
#include "log.h"
#include "secmem.h"

/* Superblock offsets (little-endian). */
#define SB_OFF_VERSION 8
#define SB_OFF_CAPACITY 12
#define SB_OFF_MAX_WR 13
#define SB_OFF_SLOT_SIZE 16
#define SB_OFF_SLOT0 24
#define SB_OFF_SLOTS 32 /* number of journal slots */
#define SB_OFF_SLOT1 SB_OFF_SLOTS
#define SB_OFF_DATA 40
#define SB_OFF_FILE_SIZE 48
#define SB_OFF_UUID 56
#define SB_OFF_CREATED 72
#define SB_OFF_TAGS 80
#define SB_OFF_SUM 96

uint64_t rpmb_slot_size(uint8_t max_wr)
{
	uint64_t n = RPMB_REC_HDR_SIZE + (uint64_t)max_wr * RPMB_BLOCK_SIZE;
	return (n + 4095) & ~4095ull;
}

/* A slot holds two copies of slot_size bytes; the tag area follows the data. */
static void layout(const struct rpmb_geom *g, uint64_t *slot_size, uint64_t slot_off[RPMB_SLOTS],
		   uint64_t *data_off, uint64_t *tag_off, uint64_t *file_size)
{
	*slot_size = rpmb_slot_size(g->max_wr);
	for (unsigned i = 0; i < RPMB_SLOTS; i++)
		slot_off[i] = RPMB_SB_SIZE + 2 * i * *slot_size;
	*data_off = RPMB_SB_SIZE + 2 * RPMB_SLOTS * *slot_size;
	*tag_off = *data_off + (uint64_t)g->capacity * RPMB_UNIT_BYTES;
	uint64_t tags = (uint64_t)g->capacity * RPMB_BLOCKS_PER_UNIT * RPMB_TAG_SIZE;
	*file_size = *tag_off + ((tags + 4095) & ~4095ull);
}

uint64_t rpmb_store_file_size(const struct rpmb_geom *g)
{
	uint64_t ss, so[RPMB_SLOTS], d, t, f;
	layout(g, &ss, so, &d, &t, &f);
	return f;
}

static ssize_t fd_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread((int)(intptr_t)ctx, buf, n, (off_t)off);
	return r < 0 ? -errno : r;
}

static ssize_t fd_pwrite(void *ctx, const void *buf, size_t n, uint64_t off)
{
	ssize_t r = pwrite((int)(intptr_t)ctx, buf, n, (off_t)off);
	return r < 0 ? -errno : r;
}

static int fd_sync(void *ctx)
{
	return fdatasync((int)(intptr_t)ctx) < 0 ? -errno : 0;
}

static _Atomic bool dsync_unavailable;

static ssize_t fd_pwrite_dsync(void *ctx, const void *buf, size_t n, uint64_t off)
{
	int fd = (int)(intptr_t)ctx;
	if (!atomic_load_explicit(&dsync_unavailable, memory_order_relaxed)) {
		/* Host memory (the journal record), never guest memory. */
		struct iovec iov = {(void *)(uintptr_t)buf, n};
		ssize_t r = pwritev2(fd, &iov, 1, (off_t)off, RWF_DSYNC);
		if (r >= 0)
			return r;
		if (errno != ENOSYS && errno != EPERM && errno != EOPNOTSUPP && errno != EINVAL)
			return -errno;
		/* Old kernel or a seccomp filter without pwritev2: a whole-file flush instead. */
		atomic_store_explicit(&dsync_unavailable, true, memory_order_relaxed);
		vt_warn(
		    "rpmb store: pwritev2(RWF_DSYNC) unavailable (%s); using pwrite + fdatasync",
		    strerror(errno));
	}
	ssize_t r = pwrite(fd, buf, n, (off_t)off);
	if (r < 0)
		return -errno;
	return fdatasync(fd) < 0 ? -errno : r;
}

static int fd_size(void *ctx, uint64_t *ret);

/*
 * A store file's io: the same calls on f->fd, except that a journal write of
 * whole aligned 4 KiB pages goes through f->dfd (O_DIRECT): no page cache
 * copy and no writeback pass, the same RWF_DSYNC semantics (the data is on
 * the device and the device cache is flushed before the call returns).
 * A file system that turns it down (EINVAL) gets the buffered path from
 * then on.
 */
static ssize_t fdio_pread(void *ctx, void *buf, size_t n, uint64_t off)
{
	return fd_pread((void *)(intptr_t)((struct rpmb_fdio *)ctx)->fd, buf, n, off);
}

static ssize_t fdio_pwrite(void *ctx, const void *buf, size_t n, uint64_t off)
{
	return fd_pwrite((void *)(intptr_t)((struct rpmb_fdio *)ctx)->fd, buf, n, off);
}

static int fdio_sync(void *ctx)
{
	return fd_sync((void *)(intptr_t)((struct rpmb_fdio *)ctx)->fd);
}

static ssize_t fdio_pwrite_dsync(void *ctx, const void *buf, size_t n, uint64_t off)
{
	struct rpmb_fdio *f = ctx;
	if (f->dfd >= 0 && n && !(n % 4096) && !(off % 4096) && !((uintptr_t)buf % 4096)) {
		/* Host memory (the journal record), never guest memory. */
		struct iovec iov = {(void *)(uintptr_t)buf, n};
		ssize_t r = pwritev2(f->dfd, &iov, 1, (off_t)off, RWF_DSYNC);
		if (r >= 0) {
			f->direct_writes++;
			return r;
		}
		if (errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS && errno != EPERM)
			return -errno;
		vt_warn("rpmb store: O_DIRECT journal write refused (%s); using buffered writes",
			strerror(errno));
		close(f->dfd);
		f->dfd = -1;
	}
	return fd_pwrite_dsync((void *)(intptr_t)f->fd, buf, n, off);
}

static int fdio_size(void *ctx, uint64_t *ret)
{
	return fd_size((void *)(intptr_t)((struct rpmb_fdio *)ctx)->fd, ret);
}

static int fd_size(void *ctx, uint64_t *ret)
{
	struct stat st;
	if (fstat((int)(intptr_t)ctx, &st) < 0)
		return -errno;
	*ret = (uint64_t)st.st_size;
	return 0;
}

void rpmb_io_fd(struct rpmb_io *io, int fd)
{
	*io = (struct rpmb_io){
	    .ctx = (void *)(intptr_t)fd,
	    .pread = fd_pread,
	    .pwrite = fd_pwrite,
	    .sync = fd_sync,
	    .pwrite_dsync = fd_pwrite_dsync,
	    .size = fd_size,
	};
}

int rpmb_io_write_all(const struct rpmb_io *io, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = io->pwrite(io->ctx, p, n, off);
		if (w == -EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? (int)w : -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int rpmb_io_read_all(const struct rpmb_io *io, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = io->pread(io->ctx, p, n, off);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? (int)r : -ENODATA;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static bool geom_ok(const struct rpmb_geom *g)
{
	return g->capacity >= 1 && g->capacity <= RPMB_MAX_CAPACITY && g->max_wr >= 1;
}

int rpmb_store_format(const struct rpmb_io *io, const struct rpmb_create *c)
{
	uint32_t version = c->version ? c->version : RPMB_STORE_VERSION;
	if (!geom_ok(&c->geom) || version < RPMB_STORE_VERSION_MIN || version > RPMB_STORE_VERSION)
		return -EINVAL;
	uint64_t slot_size, slot_off[RPMB_SLOTS], data_off, tag_off, file_size;
	layout(&c->geom, &slot_size, slot_off, &data_off, &tag_off, &file_size);

	uint8_t sb[RPMB_SB_SIZE] = {0};
	memcpy(sb, RPMB_SB_MAGIC, 8);
	vt_put_le32(sb + SB_OFF_VERSION, version);
	sb[SB_OFF_CAPACITY] = c->geom.capacity;
	sb[SB_OFF_MAX_WR] = c->geom.max_wr;
	vt_put_le32(sb + SB_OFF_SLOT_SIZE, (uint32_t)slot_size);
	vt_put_le64(sb + SB_OFF_SLOT0, slot_off[0]);
	vt_put_le64(sb + SB_OFF_SLOT1, RPMB_SLOTS);
	vt_put_le64(sb + SB_OFF_DATA, data_off);
	vt_put_le64(sb + SB_OFF_FILE_SIZE, file_size);
	struct rpmb_state st = {.counter = c->initial_counter};
	if (RAND_bytes(sb + SB_OFF_UUID, RPMB_ID_SIZE) != 1 ||
	    RAND_bytes(st.device_id, RPMB_ID_SIZE) != 1)
		return -EIO;
	vt_put_le64(sb + SB_OFF_CREATED, (uint64_t)time(NULL));
	vt_put_le64(sb + SB_OFF_TAGS, tag_off);
	int r = rpmb_sha256_2(sb, SB_OFF_SUM, NULL, 0, sb + SB_OFF_SUM);
	if (r < 0)
		return r;

	/* Every byte gets a real write: later commits overwrite in place. */
	const size_t chunk = 256 * 1024;
	uint8_t *buf = calloc(1, chunk > 2 * slot_size ? chunk : 2 * slot_size);
	if (!buf)
		return -ENOMEM;
	r = rpmb_io_write_all(io, sb, sizeof(sb), 0);
	/* Record 0: copy B at the slot's middle, copy A before it (version 2: at the start). */
	if (r == 0)
		r = rpmb_rec_encode(buf + slot_size, sb + SB_OFF_UUID, &st, 0, 0);
	if (r == 0) {
		memcpy(buf + (version < 3 ? 0 : slot_size - RPMB_REC_HDR_SIZE), buf + slot_size,
		       RPMB_REC_HDR_SIZE);
		r = rpmb_io_write_all(io, buf, 2 * slot_size, slot_off[0]);
	}
	memset(buf, 0, 2 * slot_size);
	for (unsigned i = 1; r == 0 && i < RPMB_SLOTS; i++)
		r = rpmb_io_write_all(io, buf, 2 * slot_size, slot_off[i]);
	for (uint64_t off = data_off; r == 0 && off < tag_off; off += chunk)
		r = rpmb_io_write_all(io, buf, (size_t)VT_MIN((uint64_t)chunk, tag_off - off), off);
	/* The tags of the zeroed blocks, then the padding after them. */
	void *md = NULL;
	uint32_t blocks = (uint32_t)c->geom.capacity * RPMB_BLOCKS_PER_UNIT;
	const uint32_t per = (uint32_t)(chunk / RPMB_TAG_SIZE);
	static const uint8_t zero[RPMB_BLOCK_SIZE];
	for (uint32_t a = 0; r == 0 && a < blocks; a += per) {
		uint32_t n = VT_MIN(per, blocks - a);
		for (uint32_t i = 0; r == 0 && i < n; i++)
			r = rpmb_tag(&md, sb + SB_OFF_UUID, a + i, zero, buf + i * RPMB_TAG_SIZE);
		if (r == 0)
			r = rpmb_io_write_all(io, buf, (size_t)n * RPMB_TAG_SIZE,
				      tag_off + (uint64_t)a * RPMB_TAG_SIZE);
	}
	rpmb_md_free(md);
	uint64_t pad = tag_off + (uint64_t)blocks * RPMB_TAG_SIZE;
	if (r == 0 && pad < file_size) {
		memset(buf, 0, (size_t)(file_size - pad));
		r = rpmb_io_write_all(io, buf, (size_t)(file_size - pad), pad);
	}
	free(buf);
	if (r == 0)
		r = io->sync(io->ctx);
	return r;
}

void rpmb_store_close(struct rpmb_store *s)
{
	if (!s)
		return;
	rpmb_store_apply(s);
	if (s->fd >= 0) {
		(void)s->io.sync(s->io.ctx); /* the last apply; not needed for correctness */
		close(s->fd);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* the file stays: unlinking a lock file races */
	if (s->fdio.dfd >= 0)
		close(s->fdio.dfd);
	if (s->rec_mem)
		vt_secmem_free(s->rec_mem);
	rpmb_md_free(s->md);
	vt_secmem_free(s);
}

int rpmb_store_open_io(const struct rpmb_io *io, struct rpmb_store **ret, char *err, size_t errlen)
{
	uint8_t sb[RPMB_SB_SIZE];
	uint64_t size = 0;
	int r = io->size(io->ctx, &size);
	if (r < 0) {
		snprintf(err, errlen, "cannot stat: %s", strerror(-r));
		return r;
	}
	if (size < RPMB_SB_SIZE) {
		snprintf(err, errlen, "truncated: %llu bytes, not even a superblock",
			 (unsigned long long)size);
		return -EBADMSG;
	}
	r = rpmb_io_read_all(io, sb, sizeof(sb), 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the superblock: %s", strerror(-r));
		return r;
	}
	if (memcmp(sb, RPMB_SB_MAGIC, 8) != 0) { /* lint-ok: memcmp public magic */
		snprintf(err, errlen, "not an rpmb store (bad magic)");
		return -EBADMSG;
	}
	uint8_t sum[32];
	r = rpmb_sha256_2(sb, SB_OFF_SUM, NULL, 0, sum);
	if (r < 0)
		return r;
	if (vt_ct_memcmp(sum, sb + SB_OFF_SUM, 32) != 0) {
		snprintf(err, errlen, "corrupt superblock (checksum mismatch)");
		return -EBADMSG;
	}
	uint32_t version = vt_get_le32(sb + SB_OFF_VERSION);
	if (version < RPMB_STORE_VERSION_MIN || version > RPMB_STORE_VERSION) {
		snprintf(err, errlen,
			 "unsupported store version %u (this vtrustd reads versions %u to %u; move "
			 "the state with an export from the vtrustd that wrote it)",
			 version, RPMB_STORE_VERSION_MIN, RPMB_STORE_VERSION);
		return -EBADMSG;
	}
	struct rpmb_geom g = {.capacity = sb[SB_OFF_CAPACITY], .max_wr = sb[SB_OFF_MAX_WR]};
	uint64_t slot_size, slot_off[RPMB_SLOTS], data_off, tag_off, file_size;
	if (!geom_ok(&g)) {
		snprintf(err, errlen, "corrupt superblock (capacity %u, max_wr %u)", g.capacity,
			 g.max_wr);
		return -EBADMSG;
	}
	layout(&g, &slot_size, slot_off, &data_off, &tag_off, &file_size);
	if (vt_get_le32(sb + SB_OFF_SLOT_SIZE) != slot_size || vt_get_le64(sb + SB_OFF_TAGS) != tag_off ||
	    vt_get_le64(sb + SB_OFF_SLOT0) != slot_off[0] ||
	    vt_get_le64(sb + SB_OFF_SLOT1) != RPMB_SLOTS || vt_get_le64(sb + SB_OFF_DATA) != data_off ||
	    vt_get_le64(sb + SB_OFF_FILE_SIZE) != file_size) {
		snprintf(err, errlen, "corrupt superblock (layout does not match its geometry)");
		return -EBADMSG;
	}
	if (size != file_size) {
		snprintf(err, errlen, "%s: %llu bytes, expected %llu",
			 size < file_size ? "truncated" : "wrong size", (unsigned long long)size,
			 (unsigned long long)file_size);
		return -EBADMSG;
	}

	struct rpmb_store *s = vt_secmem_alloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->io = *io;
	s->fd = -1;
	s->lock_fd = -1;
	s->geom = g;
	s->version = version;
	memcpy(s->store_uuid, sb + SB_OFF_UUID, RPMB_ID_SIZE);
	s->slot_size = slot_size;
	memcpy(s->slot_off, slot_off, sizeof(slot_off));
	s->data_off = data_off;
	s->tag_off = tag_off;
	s->file_size = file_size;
	s->blocks = (uint32_t)g.capacity * RPMB_BLOCKS_PER_UNIT;
	s->rec_mem = vt_secmem_alloc(2 * slot_size + 4096);
	if (!s->rec_mem) {
		vt_secmem_free(s);
		return -ENOMEM;
	}
	s->rec = (uint8_t *)(((uintptr_t)s->rec_mem + 4095) & ~(uintptr_t)4095);
	s->fdio.fd = s->fdio.dfd = -1;
	r = rpmb_journal_recover(s, err, errlen);
	if (r < 0) {
		rpmb_store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Creates path from a temporary file, never replacing an existing one. */
static int create_file(const char *path, const struct rpmb_create *c, char *err, size_t errlen)
{
	size_t n = strlen(path);
	_cleanup_free_ char *tmp = malloc(n + 16);
	_cleanup_free_ char *dir = strdup(path);
	if (!tmp || !dir)
		return -ENOMEM;
	snprintf(tmp, n + 16, "%s.new.XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(-e));
		return e;
	}
	(void)fchmod(fd, 0600);
	struct rpmb_io io;
	rpmb_io_fd(&io, fd);
	int r = rpmb_store_format(&io, c);
	if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
		r = errno == EEXIST ? 0 : -errno; /* someone else created it: use theirs */
	(void)unlink(tmp);			  /* no-op after a successful rename */
	if (r < 0) {
		snprintf(err, errlen, "cannot create the store: %s", strerror(-r));
		return r;
	}
	_cleanup_close_ int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	vt_notice("rpmb store %s created (%u × 128 KiB, max_wr %u)", path, c->geom.capacity,
		  c->geom.max_wr);
	return 0;
}

/*
 * The identity lock: one store uuid is served by one process at a time,
 * whatever inode or path holds it. Taken before recovery writes anything.
 */
static int lock_identity(const struct rpmb_io *io, const char *path, const char *lock_dir,
			 int *ret_fd, char *err, size_t errlen)
{
	uint8_t sb[RPMB_SB_SIZE];
	if (rpmb_io_read_all(io, sb, sizeof(sb), 0) < 0 ||
	    memcmp(sb, RPMB_SB_MAGIC, 8) != 0) /* lint-ok: memcmp public magic */
		return 0; /* not a store: rpmb_store_open_io says why */
	_cleanup_free_ char *dcopy = strdup(path);
	if (!dcopy)
		return -ENOMEM;
	const char *dir = lock_dir ? lock_dir : dirname(dcopy);
	char name[4096 + 64];
	int n = snprintf(name, sizeof(name), "%s/.rpmb-", dir);
	for (unsigned i = 0; i < RPMB_ID_SIZE && n > 0 && (size_t)n + 3 < sizeof(name); i++)
		n += snprintf(name + n, sizeof(name) - (size_t)n, "%02x", sb[SB_OFF_UUID + i]);
	if (n <= 0 || (size_t)n + 6 >= sizeof(name)) {
		snprintf(err, errlen, "lock directory path too long");
		return -ENAMETOOLONG;
	}
	snprintf(name + n, sizeof(name) - (size_t)n, ".lock");
	int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot open the identity lock %s: %s", name, strerror(-e));
		return e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = -errno;
		close(fd);
		if (e == -EWOULDBLOCK) {
			snprintf(err, errlen,
				 "in use: this store (or a copy of it: same identity, lock %s) is "
				 "served by another vtrustd or rpmb device instance",
				 name);
			return -EBUSY;
		}
		snprintf(err, errlen, "cannot lock %s: %s", name, strerror(-e));
		return e;
	}
	*ret_fd = fd;
	return 0;
}

int rpmb_store_open_file(const char *path, const struct rpmb_create *create,
			 struct rpmb_store **ret, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		int r = create_file(path, create, err, errlen);
		if (r < 0)
			return r;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(-e));
		return e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = -errno;
		if (e == -EWOULDBLOCK) {
			snprintf(err, errlen,
				 "in use: locked by another vtrustd or rpmb device instance");
			return -EBUSY;
		}
		snprintf(err, errlen, "cannot lock: %s", strerror(-e));
		return e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "owned by uid %u, not by us (uid %u)", (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "mode %04o gives group/others access; chmod 600 it",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	struct rpmb_io io;
	rpmb_io_fd(&io, fd);
	_cleanup_close_ int lock_fd = -1;
	int r = lock_identity(&io, path, create ? create->lock_dir : NULL, &lock_fd, err, errlen);
	if (r < 0)
		return r;
	struct rpmb_store *s;
	r = rpmb_store_open_io(&io, &s, err, errlen);
	if (r < 0)
		return r;
	/*
	 * The same file again with O_DIRECT for journal writes (checked to be
	 * the same inode: the path may have been replaced meanwhile). Without
	 * it (a file system with no O_DIRECT) journal writes are buffered.
	 */
	struct stat dst;
	int dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC | O_NOFOLLOW);
	if (dfd >= 0 && (fstat(dfd, &dst) < 0 || dst.st_dev != st.st_dev || dst.st_ino != st.st_ino)) {
		close(dfd);
		dfd = -1;
	}
	s->fdio.fd = fd;
	s->fdio.dfd = dfd;
	s->io = (struct rpmb_io){
	    .ctx = &s->fdio,
	    .pread = fdio_pread,
	    .pwrite = fdio_pwrite,
	    .sync = fdio_sync,
	    .pwrite_dsync = fdio_pwrite_dsync,
	    .size = fdio_size,
	};
	s->fd = VT_TAKE_FD(fd);
	s->lock_fd = VT_TAKE_FD(lock_fd);
	*ret = s;
	return 0;
}
