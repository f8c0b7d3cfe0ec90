/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe-mock-backend --socket PATH [--naive] [--leak-fds] [--die-on REQ]
 * The test-only back-end of mock_backend.h as a process, for tests that
 * run vtrust-probe against it (negative controls of the conformance cases).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "mock_backend.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"naive", no_argument, NULL, 'n'},
	    {"leak-fds", no_argument, NULL, 'l'},
	    {"die-on", required_argument, NULL, 'd'},
	    {0},
	};
	struct mock_opts o = {0};
	const char *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'n':
			o.naive = true;
			break;
		case 'l':
			o.leak_fds = true;
			break;
		case 'd':
			o.die_on = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: probe-mock-backend --socket PATH [--naive] [--leak-fds] "
				"[--die-on REQ]\n");
		return 2;
	}
	return mock_listen_loop(path, &o) < 0 ? 1 : 0;
}
