/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrustd: serves vtrust devices over vhost-user.
 *
 *   vtrustd --type TYPE --socket-path PATH [--opt KEY=VALUE ...]   one device
 *   vtrustd --type TYPE --fd FDNUM                                 socket from a manager
 *   vtrustd [--run-dir DIR] [--state-dir DIR]                      default device set
 *   vtrustd --print-capabilities
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "device.h"
#include "log.h"
#include "registry.h"

#define MAX_INSTANCES 64
#define MAX_OPTS 64

struct instance {
	const struct vt_device_type *type;
	struct vt_devcfg cfg;
	char name[64];
	char path[4096];
	int fd;
	void *priv;
	struct vt_device *dev;
	pthread_t thread;
};

static struct instance instances[MAX_INSTANCES];
static unsigned ninstances;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	for (unsigned i = 0; i < ninstances; i++)
		if (instances[i].dev)
			vt_device_stop(instances[i].dev);
}

static void *serve_main(void *arg)
{
	struct instance *in = arg;
	int r = vt_device_run(in->dev);
	if (r < 0)
		vt_err("%s: stopped: %s", in->name, strerror(-r));
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vtrustd --type TYPE (--socket-path PATH | --fd FDNUM) [--opt KEY=VALUE]...\n"
		   "       vtrustd [--run-dir DIR] [--state-dir DIR]\n"
		   "       vtrustd --print-capabilities\n"
		   "options: --log-level LEVEL  --busy-poll-us N\n"
		   "types:");
	for (unsigned i = 0; vt_device_types[i]; i++)
		fprintf(f, " %s", vt_device_types[i]->type);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"type", required_argument, NULL, 't'},
		{"socket-path", required_argument, NULL, 's'},
		{"fd", required_argument, NULL, 'f'},
		{"opt", required_argument, NULL, 'o'},
		{"run-dir", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 'S'},
		{"log-level", required_argument, NULL, 'l'},
		{"busy-poll-us", required_argument, NULL, 'b'},
		{"print-capabilities", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *type = NULL, *socket_path = NULL, *run_dir = "./run", *state_dir = "./var";
	int fd = -1;
	uint32_t busy_poll = 0;
	static struct vt_devopt opts[MAX_OPTS];
	unsigned nopts = 0;

	vt_log_set_ident("vtrustd");
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'f':
			fd = atoi(optarg);
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq || nopts >= MAX_OPTS) {
				fprintf(stderr, "vtrustd: --opt expects KEY=VALUE\n");
				return 2;
			}
			*eq = '\0';
			opts[nopts].key = optarg;
			opts[nopts].value = eq + 1;
			nopts++;
			break;
		}
		case 'r':
			run_dir = optarg;
			break;
		case 'S':
			state_dir = optarg;
			break;
		case 'l': {
			enum vt_log_level lvl;
			if (vt_log_parse_level(optarg, &lvl) < 0) {
				fprintf(stderr, "vtrustd: unknown log level %s\n", optarg);
				return 2;
			}
			vt_log_set_level(lvl);
			break;
		}
		case 'b':
			busy_poll = (uint32_t)atoi(optarg);
			break;
		case 'c':
			printf("{\n  \"type\": \"%s\",\n  \"features\": []\n}\n", type ? type : "rng");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (type) {
		struct instance *in = &instances[ninstances++];
		in->type = vt_device_type_find(type);
		if (!in->type) {
			fprintf(stderr, "vtrustd: unknown device type %s\n", type);
			usage(stderr);
			return 2;
		}
		if (!socket_path && fd < 0) {
			fprintf(stderr, "vtrustd: --type needs --socket-path or --fd\n");
			return 2;
		}
		snprintf(in->name, sizeof(in->name), "%s0", type);
		snprintf(in->path, sizeof(in->path), "%s", socket_path ? socket_path : "");
		in->fd = fd;
	} else {
		(void)mkdir(run_dir, 0755);
		(void)mkdir(state_dir, 0700);
		for (unsigned i = 0; vt_device_types[i] && ninstances < MAX_INSTANCES; i++) {
			if (strcmp(vt_device_types[i]->type, "null") == 0)
				continue;
			struct instance *in = &instances[ninstances++];
			in->type = vt_device_types[i];
			snprintf(in->name, sizeof(in->name), "%s0", in->type->type);
			snprintf(in->path, sizeof(in->path), "%s/%s0.sock", run_dir, in->type->type);
			in->fd = -1;
		}
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = 0;
	for (unsigned i = 0; i < ninstances; i++) {
		struct instance *in = &instances[i];
		in->cfg = (struct vt_devcfg){
			.name = in->name,
			.type = in->type->type,
			.state_dir = state_dir,
			.opts = opts,
			.nopts = nopts,
		};
		int r = in->type->create(&in->cfg, &in->priv);
		if (r < 0) {
			vt_err("%s: cannot create device: %s", in->name, strerror(-r));
			return 1;
		}
		in->dev = vt_device_new(in->name, in->type->ops, in->priv);
		if (!in->dev) {
			vt_err("%s: out of memory", in->name);
			return 1;
		}
		vt_device_set_busy_poll(in->dev, busy_poll);
		if (in->type->attach)
			in->type->attach(in->priv, in->dev);
		r = in->fd >= 0 ? vt_device_adopt_fd(in->dev, in->fd)
				: vt_device_listen(in->dev, in->path, 0600);
		if (r < 0) {
			vt_err("%s: cannot serve on %s: %s", in->name,
			       in->fd >= 0 ? "the given fd" : in->path, strerror(-r));
			return 1;
		}
		vt_info("%s: serving %s device on %s", in->name, in->type->type,
			in->fd >= 0 ? "an inherited fd" : in->path);
	}
	for (unsigned i = 0; i < ninstances; i++)
		pthread_create(&instances[i].thread, NULL, serve_main, &instances[i]);
	for (unsigned i = 0; i < ninstances; i++)
		pthread_join(instances[i].thread, NULL);
	for (unsigned i = 0; i < ninstances; i++) {
		vt_device_free(instances[i].dev);
		instances[i].type->destroy(instances[i].priv);
	}
	vt_info("stopped");
	return status;
}
