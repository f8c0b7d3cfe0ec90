/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtbench: the guest side of the in-guest benchmark (tests/vm/bench-vm.sh).
 * Static binary, run by the test guest's /init when the kernel command line
 * has vtrust.bench=1. Linux 6.1 drivers only, no library beyond libc.
 *
 * The host attaches up to three virtio-rng and three virtio-crypto devices
 * at fixed PCI slots (see SLOTS below): QEMU's built-in back-end, vtrustd,
 * and vtrustd with --bench-no-work (the floor: a vhost-user back-end that
 * answers every request without doing its work). Every workload runs against
 * every back-end in the same boot for R rounds; inside a cell the back-ends
 * take turns op by op (the order rotates each round), each op timed alone:
 *
 *   rng4k    read(/dev/hwrng, 4096) after switching rng_current to the
 *            device (the driver asks 64 bytes per request, one in flight:
 *            64 device requests per read)
 *   cbc64, cbc4k, cbc64k
 *            one AF_ALG skcipher op (cbc(aes), 128-bit key) in flight on a
 *            tfm pinned to the device (Linux gives a tfm the device with the
 *            fewest tfms at its first set-key: we open one tfm per device in
 *            device order and keep them all open)
 *   setkey   ALG_SET_KEY on a second pinned tfm per device (two session
 *            closes and two creates on the device)
 *
 * Before every cell it prints "VTRUST-SAMPLE <n>" and waits for the host's
 * "VTRUST-SAMPLED <n>" on the console (the host reads vtrustd's CPU time and
 * context switches from /proc at that moment); after it
 * one "VTRUST-BENCH n=<n> round=<r> work=<w> backend=<b> ops=<k> ns=<t> reqs=<q>"
 * per back-end (t: the sum of its ops' latencies).
 * Setup lines: "VTRUST-BENCHDEV", "VTRUST-PIN" (which interrupt lines moved
 * for one request of each device: the pinning evidence), "VTRUST-BENCHERR"
 * on any failure. Last: "VTRUST-BENCHDONE cells=<n> errors=<e>".
 *
 * usage: vtbench ROUNDS CELL_MS [WORKLOAD+WORKLOAD...]   (default: all)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

enum { B_BUILTIN, B_VTRUST, B_FLOOR, NB };
static const char *const bname[NB] = {"builtin", "vtrust", "floor"};
/* PCI slots the host puts the devices in (bench-vm.sh uses the same numbers). */
static const unsigned rng_slot[NB] = {0x10, 0x11, 0x12};
static const unsigned crypto_slot[NB] = {0x13, 0x14, 0x15};

#define MAX_VIRTIO 16
struct vdev {
	unsigned index; /* virtioN */
	unsigned slot;
	char driver[32];
};
static struct vdev vdevs[MAX_VIRTIO];
static unsigned nvdev;

struct target {
	bool present;
	unsigned virtio; /* virtioN */
	char rng_name[32];
	int op_tfm, op_fd, key_tfm;
};
static struct target rngt[NB], cryt[NB];
static unsigned errors;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_vdev(const void *a, const void *b)
{
	const struct vdev *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Reads /sys/bus/virtio/devices: index, driver and PCI slot of each device. */
static void scan_virtio(void)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	struct dirent *e;
	while (d && (e = readdir(d)) && nvdev < MAX_VIRTIO) {
		unsigned idx;
		if (sscanf(e->d_name, "virtio%u", &idx) != 1)
			continue;
		char p[256], link[512];
		struct vdev *v = &vdevs[nvdev];
		memset(v, 0, sizeof(*v));
		v->index = idx;
		snprintf(p, sizeof(p), "/sys/bus/virtio/devices/%.32s/driver", e->d_name);
		ssize_t n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			const char *b = strrchr(link, '/');
			snprintf(v->driver, sizeof(v->driver), "%.31s", b ? b + 1 : link);
		}
		snprintf(p, sizeof(p), "/sys/bus/virtio/devices/%.32s", e->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			/* .../0000:00:11.0/virtio3: the PCI function before the last element */
			char *last = strrchr(link, '/');
			if (last) {
				*last = 0;
				char *pci = strrchr(link, '/');
				unsigned dom, bus, slot, fn;
				if (pci && sscanf(pci + 1, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) == 4)
					v->slot = slot;
			}
		}
		nvdev++;
	}
	if (d)
		closedir(d);
	qsort(vdevs, nvdev, sizeof(vdevs[0]), cmp_vdev);
}

/*
 * Assigns targets: the k-th device bound to `driver` (virtioN order, which is
 * PCI order and so probe order) is virtio_rng.k / the k-th entry of the
 * virtio-crypto device table.
 */
static void assign(const char *driver, const unsigned *slots, struct target *t)
{
	unsigned k = 0;
	for (unsigned i = 0; i < nvdev; i++) {
		if (strcmp(vdevs[i].driver, driver))
			continue;
		for (int b = 0; b < NB; b++) {
			if (vdevs[i].slot != slots[b])
				continue;
			t[b].present = true;
			t[b].virtio = vdevs[i].index;
			snprintf(t[b].rng_name, sizeof(t[b].rng_name), "virtio_rng.%u", k);
		}
		k++;
	}
}

/* Interrupt counts of every virtioN line (INTx lines may name several devices). */
static void irq_snapshot(uint64_t counts[MAX_VIRTIO * 4])
{
	memset(counts, 0, sizeof(uint64_t) * MAX_VIRTIO * 4);
	FILE *f = fopen("/proc/interrupts", "r");
	if (!f)
		return;
	char line[1024];
	int ncpu = 0;
	if (fgets(line, sizeof(line), f))
		for (char *s = strtok(line, " \n"); s; s = strtok(NULL, " \n"))
			ncpu++;
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok = strtok_r(line, " \n", &save);
		uint64_t sum = 0;
		int col = 0;
		unsigned devs[8], nd = 0;
		while ((tok = strtok_r(NULL, " ,\n", &save))) {
			if (col < ncpu) {
				sum += strtoull(tok, NULL, 10);
				col++;
				continue;
			}
			unsigned idx;
			if (sscanf(tok, "virtio%u", &idx) == 1 && idx < MAX_VIRTIO && nd < 8)
				devs[nd++] = idx;
		}
		/* Per device: up to 4 lines (config, queues) summed into slot idx*4. */
		for (unsigned i = 0; i < nd; i++)
			counts[devs[i] * 4] += sum;
	}
	fclose(f);
}

static void pin_report(const char *kind, int b, const uint64_t *before)
{
	uint64_t after[MAX_VIRTIO * 4];
	irq_snapshot(after);
	char moved[128] = "";
	size_t off = 0;
	for (unsigned i = 0; i < MAX_VIRTIO; i++)
		if (after[i * 4] > before[i * 4] && off < sizeof(moved) - 16)
			off += (size_t)snprintf(moved + off, sizeof(moved) - off, "%svirtio%u",
						off ? "," : "", i);
	out("VTRUST-PIN %s backend=%s device=virtio%u irq_moved=%s", kind, bname[b],
	    kind[0] == 'r' ? rngt[b].virtio : cryt[b].virtio, off ? moved : "none");
}

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out("VTRUST-BENCHERR %s", buf);
	errors++;
}

/* ---- rng ---------------------------------------------------------------------------------- */

static const char *rng_current_path(void)
{
	static const char *const p[] = {"/sys/class/misc/hw_random/rng_current",
					"/sys/devices/virtual/misc/hw_random/rng_current"};
	for (size_t i = 0; i < 2; i++)
		if (access(p[i], W_OK) == 0)
			return p[i];
	return p[0];
}

static int rng_select(int b)
{
	int fd = open(rng_current_path(), O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, rngt[b].rng_name, strlen(rngt[b].rng_name));
	int e = w < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* ---- AF_ALG ------------------------------------------------------------------------------- */

static const uint8_t key_a[16] = "vtrust-bench-k-a";
static const uint8_t key_b[16] = "vtrust-bench-k-b";

static int alg_tfm(void)
{
	int s = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_alg sa = {.salg_family = AF_ALG};
	strcpy((char *)sa.salg_type, "skcipher");
	strcpy((char *)sa.salg_name, "virtio_crypto_aes_cbc");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(s, SOL_ALG, ALG_SET_KEY, key_a, sizeof(key_a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* One encryption of len bytes, one op in flight. */
static int cbc_op(int fd, uint8_t *in, uint8_t *outb, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16)];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = {.iov_base = in, .iov_len = len};
	struct msghdr msg = {.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
			     .msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	uint32_t op = ALG_OP_ENCRYPT;
	memcpy(CMSG_DATA(c), &op, sizeof(op));
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + 16);
	struct af_alg_iv *iv = (struct af_alg_iv *)(void *)CMSG_DATA(c);
	iv->ivlen = 16;
	memset(iv->iv, 0x5a, 16);
	ssize_t s = sendmsg(fd, &msg, 0);
	if (s != (ssize_t)len)
		return -1;
	return read_full(fd, outb, len);
}

/* ---- cells -------------------------------------------------------------------------------- */

enum { W_RNG, W_CBC64, W_CBC4K, W_CBC64K, W_SETKEY, NW };
static const char *const wname[NW] = {"rng4k", "cbc64", "cbc4k", "cbc64k", "setkey"};
static uint8_t *bufin, *bufout;
static unsigned cell_no;

static void handshake(unsigned n)
{
	out("VTRUST-SAMPLE %u", n);
	char line[256];
	alarm(60);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned got;
		char *p = strstr(line, "VTRUST-SAMPLED ");
		if (p && sscanf(p + 15, "%u", &got) == 1 && got == n)
			break;
	}
	alarm(0);
}

/* One timed operation of workload w on back-end b; its latency in ns, or 0 on failure. */
static uint64_t one_op(int w, int b, int hwrng, uint64_t seq)
{
	struct target *t = w == W_RNG ? &rngt[b] : &cryt[b];
	size_t len = w == W_CBC64 ? 64 : w == W_CBC4K ? 4096 : 65536;
	if (w == W_RNG && rng_select(b) < 0) {
		err("cannot select %s as rng_current: %s", t->rng_name, strerror(errno));
		return 0;
	}
	uint64_t t0 = now_ns();
	int r;
	switch (w) {
	case W_RNG:
		r = read_full(hwrng, bufout, 4096);
		break;
	case W_SETKEY:
		r = setsockopt(t->key_tfm, SOL_ALG, ALG_SET_KEY, seq & 1 ? key_a : key_b, 16);
		break;
	default:
		r = cbc_op(t->op_fd, bufin, bufout, len);
		break;
	}
	uint64_t dt = now_ns() - t0;
	if (r < 0) {
		err("%s on %s failed: %s", wname[w], bname[b], strerror(errno));
		return 0;
	}
	return dt ? dt : 1;
}

/*
 * One cell: the back-ends take turns op by op (in an order that rotates each
 * round) for about NB * cell_ns, so host noise lands on all of them alike;
 * each op is timed on its own. Per back-end: ops and the sum of their
 * latencies (one op in flight: ops / time is its throughput).
 */
static void run_cell(unsigned round, int w, uint64_t cell_ns, int hwrng)
{
	int order[NB], nb = 0;
	for (int i = 0; i < NB; i++) {
		int b = (int)((i + round) % NB);
		if (w == W_RNG ? rngt[b].present : cryt[b].present)
			order[nb++] = b;
	}
	if (!nb)
		return;
	uint64_t ops[NB] = {0}, ns[NB] = {0};
	unsigned n = ++cell_no;
	handshake(n);
	uint64_t t0 = now_ns(), seq = 0;
	bool failed = false;
	alarm(60);
	do {
		for (int i = 0; i < nb && !failed; i++) {
			uint64_t dt = one_op(w, order[i], hwrng, seq++);
			failed = dt == 0;
			ns[order[i]] += dt;
			ops[order[i]]++;
		}
	} while (!failed && (now_ns() - t0 < cell_ns * (uint64_t)nb || ops[order[nb - 1]] < 3));
	alarm(0);
	if (failed)
		return;
	for (int i = 0; i < nb; i++) {
		int b = order[i];
		uint64_t reqs = w == W_RNG ? ops[b] * 64 : ops[b];
		out("VTRUST-BENCH n=%u round=%u work=%s backend=%s ops=%llu ns=%llu reqs=%llu", n,
		    round, wname[w], bname[b], (unsigned long long)ops[b],
		    (unsigned long long)ns[b], (unsigned long long)reqs);
	}
}

/* True if list ("a+b+c") holds the word. */
static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == '+') && (p[n] == '+' || p[n] == '\0'))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
	unsigned ms = argc > 2 ? (unsigned)atoi(argv[2]) : 400;
	bool want[NW];
	for (int w = 0; w < NW; w++)
		want[w] = argc <= 3 || has_token(argv[3], wname[w]);
	if (rounds == 0 || rounds > 100 || ms == 0 || ms > 10000) {
		out("VTRUST-BENCHERR usage: vtbench ROUNDS(1..100) CELL_MS(1..10000)");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bufin = malloc(65536);
	bufout = malloc(65536);
	for (size_t i = 0; i < 65536; i++)
		bufin[i] = (uint8_t)(i * 7 + 3);

	scan_virtio();
	assign("virtio_rng", rng_slot, rngt);
	assign("virtio_crypto", crypto_slot, cryt);
	for (int b = 0; b < NB; b++)
		out("VTRUST-BENCHDEV backend=%s rng=%s%s crypto=%s%u", bname[b],
		    rngt[b].present ? rngt[b].rng_name : "none", "",
		    cryt[b].present ? "virtio" : "none", cryt[b].present ? cryt[b].virtio : 0);

	/* Pin: one op tfm per device in device order, then one key tfm per device. */
	for (int pass = 0; pass < 2; pass++)
		for (int b = 0; b < NB; b++) {
			if (!cryt[b].present)
				continue;
			int s = alg_tfm();
			if (s < 0) {
				err("AF_ALG tfm for %s: %s", bname[b], strerror(errno));
				cryt[b].present = false;
				continue;
			}
			if (pass == 0) {
				cryt[b].op_tfm = s;
				cryt[b].op_fd = accept(s, NULL, 0);
				if (cryt[b].op_fd < 0) {
					err("AF_ALG accept for %s: %s", bname[b], strerror(errno));
					cryt[b].present = false;
				}
			} else {
				cryt[b].key_tfm = s;
			}
		}
	/* Pinning evidence and a correctness cross-check of the two real devices. */
	uint8_t ref[4096];
	bool have_ref = false;
	for (int b = 0; b < NB; b++) {
		if (!cryt[b].present)
			continue;
		uint64_t before[MAX_VIRTIO * 4];
		irq_snapshot(before);
		if (cbc_op(cryt[b].op_fd, bufin, bufout, 4096) < 0) {
			err("first cbc op on %s: %s", bname[b], strerror(errno));
			cryt[b].present = false;
			continue;
		}
		pin_report("crypto", b, before);
		if (b == B_FLOOR)
			continue;
		if (!have_ref) {
			memcpy(ref, bufout, 4096);
			have_ref = true;
		} else if (memcmp(ref, bufout, 4096)) {
			err("cbc(aes) output of %s differs from builtin's", bname[b]);
		}
	}
	int hwrng = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	if (hwrng < 0)
		err("open /dev/hwrng: %s", strerror(errno));
	for (int b = 0; b < NB && hwrng >= 0; b++) {
		if (!rngt[b].present)
			continue;
		if (rng_select(b) < 0) {
			err("select %s: %s", rngt[b].rng_name, strerror(errno));
			rngt[b].present = false;
			continue;
		}
		uint8_t tmp[64];
		uint64_t before[MAX_VIRTIO * 4];
		read_full(hwrng, tmp, sizeof(tmp)); /* drain what the previous device left */
		irq_snapshot(before);
		if (read_full(hwrng, bufout, 256) < 0) {
			err("read /dev/hwrng from %s failed", bname[b]);
			rngt[b].present = false;
			continue;
		}
		pin_report("rng", b, before);
	}
	if (hwrng < 0)
		for (int b = 0; b < NB; b++)
			rngt[b].present = false;

	uint64_t cell_ns = (uint64_t)ms * 1000000ull;
	for (unsigned r = 0; r < rounds; r++)
		for (int w = 0; w < NW; w++)
			if (want[w])
				run_cell(r, w, cell_ns, hwrng);
	handshake(++cell_no);
	out("VTRUST-BENCHDONE cells=%u errors=%u", cell_no - 1, errors);
	return errors ? 1 : 0;
}
