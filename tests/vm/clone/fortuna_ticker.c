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
 *           kr=<kernel_reseeds> fr=<fast_reseeds> st=0x<state>
 *   VTF-ERR <name> <seq> <error>     (vtf_generate failed; nothing output)
 *
 *   fortuna-ticker --name NAME [--no-vmgenid] [--period-ms MS]
 * --no-vmgenid: the negative control, the library without the module.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

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
		r = vtf_generate(rng, b, sizeof(b));
		if (r < 0) {
			n = snprintf(line, sizeof(line), "VTF-ERR %s %llu %s\n", name, seq,
				     vtf_strerror(r));
		} else {
			char hex[65];
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", b[i]);
			vtf_get_status(rng, &st);
			n = snprintf(
			    line, sizeof(line),
			    "VTF-OUT %s %llu %s gen=%llu idc=%llu kr=%llu fr=%llu st=0x%x\n", name,
			    seq, hex, (unsigned long long)st.generations,
			    (unsigned long long)st.vmgenid_changes,
			    (unsigned long long)st.kernel_reseeds,
			    (unsigned long long)st.fast_reseeds, st.state);
		}
		out_line(line, (size_t)n);
		nanosleep(&period, NULL);
	}
}
