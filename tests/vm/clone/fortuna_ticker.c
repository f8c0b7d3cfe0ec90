/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fortuna-ticker: the guest program of the clone test (tests/vm/run-clone.py).
 * Built static, so the initramfs needs nothing else. Set up as
 * fortuna/README.md tells an application to be (vtf_new with defaults), it
 * prints one 32-byte output per period, each line written with one write()
 * and drained to the serial line (tcdrain) before the next output is made,
 * so at most one line can be in flight when the VM is stopped:
 *
 *   VTF-START <name> signals=0x.. inputs=0x..
 *   VTF-OUT <name> <seq> <64 hex> gen=<generations> idc=<vmgenid_changes>
 *           kr=<kernel_reseeds> fr=<fast_reseeds> st=0x<state> in=0x<inputs> t=<guest us>
 *   VTF-ERR <name> <seq> <error>     (vtf_generate failed; nothing output)
 *
 *   fortuna-ticker --name NAME [--no-vmgenid] [--period-ms MS]
 * --no-vmgenid: the negative control, the library without the module.
 *
 *   fortuna-ticker --watch
 * checks /dev/vtrust-vmgenid itself: a writable mapping is refused, read()
 * gives the VM-fork counter, and poll() wakes when it moves:
 *   VTF-DEV read=<count> wmap=<result> mprotect=<result> id=<32 hex>
 * wmap: a PROT_WRITE mapping through a descriptor opened O_RDWR (root can
 * open the 0444 node for writing; the module must refuse with EPERM);
 * mprotect: making the read-only mapping writable (must fail: EACCES).
 *   VTF-VMFORK count=<count> id=<32 hex> t=<guest us>  (each time poll() wakes)
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vtrust/fortuna.h>

static void out_line(const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(1);
		s += w;
		n -= (size_t)w;
	}
	tcdrain(1); /* not a tty (a pipe in a test): nothing to wait for */
}

/* Guest CLOCK_MONOTONIC in microseconds (it stands still while the VM is stopped). */
static unsigned long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static void hex_id(const volatile unsigned char *id, char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* The module's own interface, as a program without the library sees it. */
static int watch(void)
{
	char line[160], id[33];
	unsigned long long count = 0;
	int fd = open("/dev/vtrust-vmgenid", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("fortuna-ticker --watch: /dev/vtrust-vmgenid");
		return 1;
	}
	const char *wmap = "no-O_RDWR";
	int wfd = open("/dev/vtrust-vmgenid", O_RDWR | O_CLOEXEC);
	if (wfd >= 0) {
		void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
		wmap = w == MAP_FAILED ? (errno == EPERM ? "EPERM" : strerror(errno)) : "ALLOWED";
		close(wfd);
	}
	const volatile unsigned char *pages = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	const char *mprot = "n/a";
	if (pages != MAP_FAILED)
		mprot = mprotect((void *)(uintptr_t)pages, 8192, PROT_READ | PROT_WRITE) == 0
			    ? "ALLOWED"
			    : (errno == EACCES ? "EACCES" : strerror(errno));
	if (pages == MAP_FAILED || read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count)) {
		perror("fortuna-ticker --watch: mmap/read");
		return 1;
	}
	unsigned id_offset = *(const volatile unsigned *)(pages + 4096 + 12);
	hex_id(pages + id_offset, id);
	int n = snprintf(line, sizeof(line), "VTF-DEV read=%llu wmap=%s mprotect=%s id=%s\n", count,
			 wmap, mprot, id);
	out_line(line, (size_t)n);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
			return 1;
		hex_id(pages + id_offset, id);
		n = snprintf(line, sizeof(line), "VTF-VMFORK count=%llu id=%s t=%llu\n", count, id,
			     mono_us());
		out_line(line, (size_t)n);
	}
}

int main(int argc, char **argv)
{
	const char *name = "ticker";
	unsigned period_ms = 50;
	struct vtf_options o = {0};
	struct vtf_ctx *rng;
	char line[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--period-ms") && i + 1 < argc)
			period_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--no-vmgenid"))
			o.flags |= VTF_OPT_NO_VMGENID;
		else if (!strcmp(argv[i], "--watch"))
			return watch();
		else {
			fprintf(
			    stderr,
			    "usage: fortuna-ticker --name NAME [--no-vmgenid] [--period-ms MS]\n");
			return 2;
		}
	}
	int r = vtf_new(&o, &rng);
	if (r < 0) {
		fprintf(stderr, "fortuna-ticker: vtf_new failed: %s\n", vtf_strerror(r));
		return 1;
	}
	struct vtf_status st;
	vtf_get_status(rng, &st);
	int n = snprintf(line, sizeof(line), "VTF-START %s signals=0x%x inputs=0x%x\n", name,
			 st.signals, st.inputs);
	out_line(line, (size_t)n);
	struct timespec period = {.tv_sec = period_ms / 1000,
				  .tv_nsec = (long)(period_ms % 1000) * 1000000L};
	for (unsigned long long seq = 1;; seq++) {
		unsigned char b[32];
		unsigned long long t_us = mono_us(); /* just before the output is made */
		r = vtf_generate(rng, b, sizeof(b));
		if (r < 0) {
			n = snprintf(line, sizeof(line), "VTF-ERR %s %llu %s\n", name, seq,
				     vtf_strerror(r));
		} else {
			char hex[65];
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", b[i]);
			vtf_get_status(rng, &st);
			n = snprintf(line, sizeof(line),
				     "VTF-OUT %s %llu %s gen=%llu idc=%llu kr=%llu fr=%llu st=0x%x "
				     "in=0x%x t=%llu\n",
				     name, seq, hex, (unsigned long long)st.generations,
				     (unsigned long long)st.vmgenid_changes,
				     (unsigned long long)st.kernel_reseeds,
				     (unsigned long long)st.fast_reseeds, st.state, st.inputs,
				     t_us);
		}
		out_line(line, (size_t)n);
		nanosleep(&period, NULL);
	}
}
