/* SPDX-License-Identifier: Apache-2.0 */
/* `conformance [--list] [--settle-ms N] [PATTERN...]`: see conformance.h. */
#include <getopt.h>
#include <string.h>

#include "conformance.h"

#define DEFAULT_SETTLE_MS 150

static int run_conformance(struct probe_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"list", no_argument, NULL, 'l'},
	    {"settle-ms", required_argument, NULL, 's'},
	    {"populate", no_argument, NULL, 'p'},
	    {0},
	};
	bool list = false, populate = false;
	long settle = DEFAULT_SETTLE_MS;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'p':
			populate = true;
			break;
		case 's':
			settle = strtol(optarg, &end, 10);
			if (*end || settle < 1 || settle > 60000) {
				fprintf(stderr, "conformance: --settle-ms must be 1..60000\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: vtrust-probe ... conformance [--list] "
					"[--settle-ms N] [--populate] [PATTERN...]\n");
			return 2;
		}
	}
	/*
	 * Each case maps fresh guest RAM; pre-faulting 64 MiB a few hundred times
	 * costs seconds of system time, and cases touch only a few pages.
	 */
	if (!populate)
		ctx->dev.mem.no_populate = true;
	/* The back-end may pre-fault all of it at SET_MEM_TABLE, once per case. */
	if (ctx->dev.mem.size == 0)
		ctx->dev.mem.size = 16ull << 20;
	return conf_run(ctx, (const char *const *)(argv + optind), (size_t)(argc - optind), list,
			(int)settle);
}

const struct probe_cmd probe_cmd_conformance = {
    .name = "conformance",
    .args = "[--list] [--settle-ms N] [--populate] [GLOB...]",
    .summary = "hostile-input cases; each followed by a sanity check",
    .run = run_conformance,
};
