/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrustd: serves vtrust devices (rng, crypto, rpmb; several of each) over
 * vhost-user. See vtrustd(8) and daemon/README.md.
 *
 *   vtrustd [--config FILE] [--run-dir DIR] [--state-dir DIR] [--device NAME:TYPE,...]...
 *   vtrustd --type TYPE (--socket-path PATH | --fd FDNUM) [--opt KEY=VALUE]...
 *   vtrustd --print-capabilities
 *
 * Start-up order: configuration; core dumps off; devices created (stores
 * opened, keys loaded); sockets bound (or inherited from systemd/--fd); the
 * attach fragments printed; then the sandbox (user, no-new-privs, seccomp)
 * and only then threads: one protocol thread per device, the control thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef VT_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "device.h"
#include "guestmem.h"
#include "log.h"
#include "vtrustd.h"

#define ARGV0_PREFIX "vtrust-vhost-user-"

enum {
	OPT_TYPE = 256,
	OPT_CONFIG_IF_EXISTS,
	OPT_SOCKET_PATH,
	OPT_SOCKET_GROUP,
	OPT_SOCKET_MODE,
	OPT_FD,
	OPT_OPT,
	OPT_NAME,
	OPT_DEVICE,
	OPT_RUN_DIR,
	OPT_STATE_DIR,
	OPT_CONTROL_SOCKET,
	OPT_CONTROL_GROUP,
	OPT_USER,
	OPT_SECCOMP,
	OPT_METRICS_HTTP,
	OPT_LOG_LEVEL,
	OPT_LOG_TARGET,
	OPT_BUSY_POLL,
	OPT_BENCH_NO_WORK,
	OPT_PREFAULT_MB,
	OPT_PREFAULT_TOTAL_MB,
	OPT_DEBUG_COMMANDS,
	OPT_PRINT_CAPS,
	OPT_CHECK_CONFIG,
	OPT_VERSION,
	OPT_QUIET,
};

static const struct option longopts[] = {
	{"config", required_argument, NULL, 'c'},
	{"config-if-exists", required_argument, NULL, OPT_CONFIG_IF_EXISTS},
	{"type", required_argument, NULL, OPT_TYPE},
	{"socket-path", required_argument, NULL, OPT_SOCKET_PATH},
	{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	{"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
	{"fd", required_argument, NULL, OPT_FD},
	{"opt", required_argument, NULL, OPT_OPT},
	{"name", required_argument, NULL, OPT_NAME},
	{"device", required_argument, NULL, OPT_DEVICE},
	{"run-dir", required_argument, NULL, OPT_RUN_DIR},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"control-socket", required_argument, NULL, OPT_CONTROL_SOCKET},
	{"control-group", required_argument, NULL, OPT_CONTROL_GROUP},
	{"user", required_argument, NULL, OPT_USER},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"metrics-http", required_argument, NULL, OPT_METRICS_HTTP},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-target", required_argument, NULL, OPT_LOG_TARGET},
	{"busy-poll-us", required_argument, NULL, OPT_BUSY_POLL},
	{"bench-no-work", no_argument, NULL, OPT_BENCH_NO_WORK},
	{"prefault-mb", required_argument, NULL, OPT_PREFAULT_MB},
	{"prefault-total-mb", required_argument, NULL, OPT_PREFAULT_TOTAL_MB},
	{"debug-commands", no_argument, NULL, OPT_DEBUG_COMMANDS},
	{"print-capabilities", no_argument, NULL, OPT_PRINT_CAPS},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vtrustd [--config FILE | --config-if-exists FILE] [--run-dir DIR] [--state-dir DIR]\n"
		"               [--device NAME:TYPE[,KEY=VALUE]...]...   serve several devices\n"
		"       vtrustd --type TYPE (--socket-path PATH | --fd FDNUM) [--opt KEY=VALUE]...\n"
		"               [--socket-group GROUP] [--socket-mode MODE] [--state-dir DIR]\n"
		"       vtrustd --print-capabilities | --check-config | --version\n"
		"options: --control-socket PATH|none --control-group GROUP --user USER\n"
		"         --seccomp off|log|errno|trap|kill --metrics-http [HOST:]PORT\n"
		"         --log-level err|warning|notice|info|debug --log-target stderr|journal|file:PATH\n"
		"         --busy-poll-us N --prefault-mb N --prefault-total-mb N\n"
		"         --name NAME --debug-commands --quiet\n"
		"         --bench-no-work (benchmark floor: answers requests without doing them)\n"
		"see vtrustd(8) and vtrustd.conf(5)\n"
		"types:");
	for (unsigned i = 0; vt_device_types[i]; i++)
		fprintf(f, " %s", vt_device_types[i]->type);
	fprintf(f, "\n");
}

/* vtrust-vhost-user-rng (a link to vtrustd, as a descriptor's "binary") defaults to rng. */
static const char *type_from_argv0(const char *argv0)
{
	const char *b = strrchr(argv0, '/');
	b = b ? b + 1 : argv0;
	if (strncmp(b, ARGV0_PREFIX, strlen(ARGV0_PREFIX)))
		return NULL;
	const struct vt_device_type *t = vt_device_type_find(b + strlen(ARGV0_PREFIX));
	return t ? t->type : NULL;
}

/*
 * docs/interop/vhost-user.json: VHostUserBackendCapabilities is a union on "type" whose rng
 * and crypto branches have no members, so {"type": "rng"} is all the schema allows. Types
 * outside VHostUserBackendType (rpmb, null) have no capabilities to print.
 */
static int print_capabilities(const char *type)
{
	if (!type) {
		fprintf(stderr, "vtrustd: --print-capabilities describes one device type: add --type "
				"rng|crypto (or run vtrust-vhost-user-TYPE)\n");
		return 2;
	}
	if (strcmp(type, "rng") && strcmp(type, "crypto")) {
		fprintf(stderr, "vtrustd: '%s' is not a back-end type of QEMU's vhost-user.json "
				"(VHostUserBackendType): no capabilities to print\n", type);
		return 1;
	}
	printf("{\n  \"type\": \"%s\"\n}\n", type);
	return 0;
}

void vtd_notify(const char *state)
{
#ifdef VT_HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	(void)w;
	close(fd);
#endif
}

#define LISTEN_FDS_START 3

/* Sockets passed by systemd (socket activation): count, names in *names (NULL-terminated). */
static int listen_fds(char ***names)
{
	*names = NULL;
#ifdef VT_HAVE_SYSTEMD
	int n = sd_listen_fds_with_names(1, names);
	return n < 0 ? 0 : n;
#else
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
		return 0;
	int n = (int)strtol(fds, NULL, 10);
	if (n <= 0 || n > 64)
		return 0;
	char **v = calloc((size_t)n + 1, sizeof(*v));
	const char *fdnames = getenv("LISTEN_FDNAMES");
	char *copy = fdnames ? strdup(fdnames) : NULL, *save = NULL;
	char *tok = copy ? strtok_r(copy, ":", &save) : NULL;
	for (int i = 0; v && i < n; i++) {
		v[i] = strdup(tok ? tok : "unknown");
		tok = tok ? strtok_r(NULL, ":", &save) : NULL;
	}
	free(copy);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*names = v;
	return v ? n : 0;
#endif
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static struct timespec t_start;

static double uptime_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t_start.tv_sec) * 1e3 + (double)(t.tv_nsec - t_start.tv_nsec) / 1e6;
}

static void free_inherited(struct vt_inherited_fd *inh, unsigned n)
{
	for (unsigned i = 0; inh && i < n; i++) {
		if ((!inh[i].used || inh[i].borrowed) && inh[i].fd >= 0)
			close(inh[i].fd);
		free((void *)(uintptr_t)inh[i].name);
	}
	free(inh);
}

int main(int argc, char **argv)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	struct vt_inherited_fd *inh = NULL;
	unsigned ninh = 0;
	vt_log_set_ident("vtrustd");
	vtd_signals_block();

	struct vtd_config cfg;
	vtd_config_init(&cfg);
	int status = 1;
	struct vtd_control *ctl = NULL;
	const char *argv0_type = type_from_argv0(argv[0]);
	const char *type = argv0_type;

	/* Pass 1: --print-capabilities (ignores everything else), --help, --config. */
	const char *config_file = NULL;
	bool print_caps = false, check_only = false, started = false;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (c == OPT_PRINT_CAPS)
			print_caps = true;
		else if (c == 'c')
			config_file = optarg;
		else if (c == OPT_CONFIG_IF_EXISTS)
			config_file = access(optarg, F_OK) == 0 ? optarg : NULL; /* else: defaults */
		else if (c == OPT_TYPE && vt_device_type_find(optarg))
			type = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else if (c == OPT_VERSION) {
			printf("vtrustd %s\n", VTRUST_VERSION);
			return 0;
		}
	}
	if (print_caps) {
		return print_capabilities(type);
	}
	/* A bad file is reported line by line; the devices are still checked below (all errors). */
	bool config_bad = config_file && vtd_config_load_file(&cfg, config_file) < 0;

	/* Pass 2: the command line overrides the file. */
	optind = 0;
	opterr = 1;
	const char *socket_path = NULL, *name = NULL;
	int fd = -1;
	struct {
		const char *k, *v;
	} single_opts[64];
	unsigned nsingle = 0;
	type = argv0_type;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case 'c':
		case OPT_CONFIG_IF_EXISTS:
		case OPT_PRINT_CAPS:
			break;
		case OPT_TYPE:
			type = optarg;
			break;
		case OPT_SOCKET_PATH:
			socket_path = optarg;
			break;
		case OPT_SOCKET_GROUP:
			r = vtd_config_set_daemon(&cfg, "socket_group", optarg);
			break;
		case OPT_SOCKET_MODE:
			r = vtd_config_set_daemon(&cfg, "socket_mode", optarg);
			break;
		case OPT_FD: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 65535) {
				fprintf(stderr, "vtrustd: --fd expects a file descriptor number\n");
				goto usage_error;
			}
			fd = (int)v;
			break;
		}
		case OPT_OPT: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				fprintf(stderr, "vtrustd: --opt expects KEY=VALUE\n");
				goto usage_error;
			}
			if (nsingle >= 64) {
				fprintf(stderr, "vtrustd: at most 64 --opt "
						"(put the device in a --config file)\n");
				goto usage_error;
			}
			*eq = '\0';
			single_opts[nsingle].k = optarg;
			single_opts[nsingle].v = eq + 1;
			nsingle++;
			break;
		}
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_DEVICE:
			r = vtd_config_parse_device_arg(&cfg, optarg);
			break;
		case OPT_RUN_DIR:
			r = vtd_config_set_daemon(&cfg, "run_dir", optarg);
			break;
		case OPT_STATE_DIR:
			r = vtd_config_set_daemon(&cfg, "state_dir", optarg);
			break;
		case OPT_CONTROL_SOCKET:
			r = vtd_config_set_daemon(&cfg, "control_socket", optarg);
			break;
		case OPT_CONTROL_GROUP:
			r = vtd_config_set_daemon(&cfg, "control_group", optarg);
			break;
		case OPT_USER:
			r = vtd_config_set_daemon(&cfg, "user", optarg);
			break;
		case OPT_SECCOMP:
			r = vtd_config_set_daemon(&cfg, "seccomp", optarg);
			break;
		case OPT_METRICS_HTTP:
			r = vtd_config_set_daemon(&cfg, "metrics_http", optarg);
			break;
		case OPT_LOG_LEVEL:
			r = vtd_config_set_daemon(&cfg, "log_level", optarg);
			break;
		case OPT_LOG_TARGET:
			r = vtd_config_set_daemon(&cfg, "log_target", optarg);
			break;
		case OPT_BUSY_POLL:
			r = vtd_config_set_daemon(&cfg, "busy_poll_us", optarg);
			break;
		case OPT_BENCH_NO_WORK:
			r = vtd_config_set_daemon(&cfg, "bench_no_work", "true");
			break;
		case OPT_PREFAULT_MB:
			r = vtd_config_set_daemon(&cfg, "prefault_mb", optarg);
			break;
		case OPT_PREFAULT_TOTAL_MB:
			r = vtd_config_set_daemon(&cfg, "prefault_total_mb", optarg);
			break;
		case OPT_DEBUG_COMMANDS:
			cfg.debug_commands = true;
			break;
		case OPT_CHECK_CONFIG:
			check_only = true;
			break;
		case OPT_QUIET:
			cfg.quiet = true;
			break;
		default:
			usage(stderr);
			goto usage_error;
		}
		if (r < 0)
			goto usage_error;
	}
	if (optind < argc) {
		fprintf(stderr, "vtrustd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto usage_error;
	}

	/* The single-device form (QEMU's backend program conventions). */
	if (socket_path && fd >= 0) {
		fprintf(stderr, "vtrustd: --socket-path and --fd exclude each other\n");
		goto usage_error;
	}
	if (type && (socket_path || fd >= 0 || !argv0_type || nsingle)) {
		if (cfg.ninst) {
			fprintf(stderr, "vtrustd: --type serves one device: drop --device and [device] sections\n");
			goto usage_error;
		}
		if (!socket_path && fd < 0) {
			fprintf(stderr, "vtrustd: --type needs --socket-path PATH or --fd FDNUM\n");
			goto usage_error;
		}
		char defname[VTD_NAME_MAX];
		snprintf(defname, sizeof(defname), "%s0", type);
		struct vtd_instance *in = vtd_config_instance(&cfg, name ? name : defname);
		if (!in || vtd_config_set_instance(&cfg, in, "type", type) < 0)
			goto usage_error;
		if (socket_path && vtd_config_set_instance(&cfg, in, "socket", socket_path) < 0)
			goto usage_error;
		in->fd = fd;
		for (unsigned i = 0; i < nsingle; i++)
			if (vtd_config_set_instance(&cfg, in, single_opts[i].k, single_opts[i].v) < 0)
				goto usage_error;
		cfg.single = true;
	} else if (socket_path || fd >= 0 || nsingle) {
		fprintf(stderr, "vtrustd: --socket-path, --fd and --opt need --type TYPE\n");
		goto usage_error;
	}

	/* Sockets from systemd (socket activation): matched by FileDescriptorName=. The
	 * fd store's entries (names with a dot, or mem-...) come after them. */
	bool store = vtd_fdstore_probe();
	char **fdnames = NULL;
	int nfds = listen_fds(&fdnames);
	int control_fd = -1;
	inh = calloc((size_t)(nfds > 0 ? nfds : 1), sizeof(*inh));
	if (!inh)
		goto usage_error;
	for (int i = 0; i < nfds; i++) {
		int lfd = LISTEN_FDS_START + i;
		(void)fcntl(lfd, F_SETFD, FD_CLOEXEC);
		const char *fn = fdnames && fdnames[i] ? fdnames[i] : "unknown";
		struct vtd_instance *in = NULL;
		if (!strcmp(fn, "control")) {
			control_fd = lfd;
			continue;
		}
		if (strchr(fn, '.') || !strncmp(fn, "mem-", 4)) {
			if (!store) {
				vt_warn("inherited fd '%s' is a stored fd, but no fd store is offered "
					"(NOTIFY_SOCKET and FDSTORE): closed", fn);
				close(lfd);
				continue;
			}
			inh[ninh].name = strdup(fn);
			inh[ninh].fd = inh[ninh].name ? lfd : -1;
			ninh++;
			continue;
		}
		in = vtd_config_instance(&cfg, strcmp(fn, "unknown") ? fn : (cfg.ninst == 1 ? cfg.inst[0]->name : "unknown"));
		if (!in) {
			vt_err("socket activation: no use for the socket named '%s'", fn);
			goto out;
		}
		if (!in->type) {
			vt_err("socket activation: socket '%s' names no configured device", fn);
			goto out;
		}
		in->fd = lfd;
		in->socket_path[0] = '\0';
	}
	if (fdnames) {
		for (int i = 0; fdnames[i]; i++)
			free(fdnames[i]);
		free(fdnames);
	}

	if (vtd_config_finish(&cfg) < 0 || config_bad)
		goto usage_error;
	if (check_only) {
		printf("vtrustd: configuration OK: %u device%s\n", cfg.ninst, cfg.ninst == 1 ? "" : "s");
		for (unsigned i = 0; i < cfg.ninst; i++)
			printf("  %s: %s on %s\n", cfg.inst[i]->name, cfg.inst[i]->type->type,
			       cfg.inst[i]->socket_path[0] ? cfg.inst[i]->socket_path : "(inherited fd)");
		free_inherited(inh, ninh);
		vtd_config_free(&cfg);
		return 0;
	}
	/* The log moves to log_target only now: configuration errors all went to stderr. */
	if (vtd_config_apply_log(&cfg) < 0)
		goto usage_error;
	started = true;

	int r = vtd_sandbox_no_dumps();
	if (r < 0) {
		vt_err("cannot disable core dumps: %s", strerror(-r));
		goto out;
	}
	if (cfg.run_dir && (r = mkdir_p(cfg.run_dir, 0755)) < 0) {
		vt_err("cannot create the run directory %s: %s", cfg.run_dir, strerror(-r));
		goto out;
	}
	if (cfg.state_dir && (r = mkdir_p(cfg.state_dir, 0700)) < 0) {
		vt_err("cannot create the state directory %s: %s", cfg.state_dir, strerror(-r));
		goto out;
	}
	if (cfg.user && geteuid() == 0 && cfg.state_dir &&
	    chown(cfg.state_dir, cfg.user_uid, cfg.user_gid) < 0)
		vt_warn("cannot give %s to user %s: %s", cfg.state_dir, cfg.user, strerror(errno));

	vt_guestmem_set_prefault_budget(cfg.prefault_mb << 20, cfg.prefault_total_mb << 20);
	for (unsigned i = 0; i < cfg.ninst; i++)
		if (vtd_instance_create(&cfg, cfg.inst[i]) < 0)
			goto out;
	if (store) {
		/* Resume what the previous process left in the store; the rest starts afresh. */
		vtd_fdstore_adopt(&cfg, inh, ninh);
		unsigned resumed = 0;
		for (unsigned i = 0; i < cfg.ninst; i++) {
			struct vt_device *dev = cfg.inst[i]->dev;
			r = vt_device_resume(dev, inh, ninh);
			if (r > 0)
				resumed++;
			else if (vt_device_resume_enable(dev) < 0)
				goto out;
			atomic_store(&dev->detach_on_stop, true);
		}
		if (resumed)
			vt_notice("fd store: resumed %u of %u device%s %.1f ms after start", resumed,
				  cfg.ninst, cfg.ninst == 1 ? "" : "s", uptime_ms());
	}
	for (unsigned i = 0; i < cfg.ninst; i++)
		if (vtd_instance_listen(cfg.inst[i]) < 0)
			goto out;
	if (store)
		vtd_fdstore_start(&cfg, inh, ninh);
	if ((cfg.control_socket || control_fd >= 0 || cfg.metrics_http) &&
	    vtd_control_open(&cfg, control_fd, &ctl) < 0)
		goto out;
	for (unsigned i = 0; i < cfg.ninst; i++)
		vt_info("%s: serving a %s device on %s", cfg.inst[i]->name, cfg.inst[i]->type->type,
			cfg.inst[i]->socket_path[0] ? cfg.inst[i]->socket_path : "an inherited socket");
	if (ctl && cfg.control_socket)
		vt_info("control socket %s", control_fd >= 0 ? "(inherited)" : cfg.control_socket);
	if (cfg.metrics_http)
		vt_info("metrics on http://%s/metrics", cfg.metrics_http);
	if (cfg.print_attach && !cfg.single && !cfg.quiet)
		vtd_print_attach(&cfg);

	/* The sandbox, before any thread of ours exists. */
	if (vtd_sandbox_drop_user(&cfg) < 0 || vtd_sandbox_no_new_privs() < 0) {
		vt_err("cannot enter the sandbox");
		goto out_ctl;
	}
	if (cfg.seccomp != VTD_SECCOMP_OFF) {
		if (vtd_seccomp_load(VTD_THREAD_BASE, cfg.seccomp) < 0)
			goto out_ctl;
		vtd_seccomp_install_worker_hook(cfg.seccomp);
		vt_info("seccomp allow-lists active (action for other syscalls: %s)",
			vtd_seccomp_name(cfg.seccomp));
	}
	for (unsigned i = 0; i < cfg.ninst; i++)
		if (vtd_instance_start(cfg.inst[i], cfg.seccomp) < 0) {
			vt_err("%s: cannot start its thread", cfg.inst[i]->name);
			goto out_stop;
		}
	if (ctl && vtd_control_start(ctl) < 0) {
		vt_err("cannot start the control thread");
		goto out_stop;
	}
	if (cfg.seccomp != VTD_SECCOMP_OFF && vtd_seccomp_load(VTD_THREAD_MAIN, cfg.seccomp) < 0)
		goto out_stop;
	vtd_notify("READY=1");
	if (store)
		vt_notice("ready %.1f ms after start (fd store in use: a crash or SIGTERM keeps every "
			  "front-end connected)", uptime_ms());

	status = 0;
	for (;;) {
		if (vtd_signals_wait() == VTD_WAKE_STOP)
			break;
		bool failed = false, all_done = true;
		for (unsigned i = 0; i < cfg.ninst; i++) {
			int st = atomic_load(&cfg.inst[i]->state);
			failed |= st == VTD_INST_FAILED;
			all_done &= st != VTD_INST_RUNNING;
		}
		if (failed) {
			vt_err("a device failed: stopping");
			status = 1;
			break;
		}
		if (all_done) {
			vt_info("every device has ended");
			break;
		}
	}
	vtd_notify("STOPPING=1");

out_stop:
	/* Each protocol thread stops its queue workers, which finish their batch first. */
	for (unsigned i = 0; i < cfg.ninst; i++)
		vtd_instance_stop(cfg.inst[i]);
	{
		/* Every wait on a front-end is bounded and cancelled by the stop; a device
		 * stuck in its own work must not keep the daemon alive past stop_timeout. */
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += (time_t)cfg.stop_timeout;
		for (unsigned i = 0; i < cfg.ninst; i++) {
			if (vtd_instance_join_until(cfg.inst[i], &dl) == -ETIMEDOUT) {
				vt_err("%s: still busy %u s after the stop request; exiting without "
				       "waiting for it (raise stop_timeout if its work is legitimately "
				       "that slow)",
				       cfg.inst[i]->name, cfg.stop_timeout);
				_exit(1);
			}
		}
	}
out_ctl:
	vtd_control_free(ctl);
out:
	for (unsigned i = 0; i < cfg.ninst; i++)
		vtd_instance_destroy(cfg.inst[i]);
	free_inherited(inh, ninh);
	vtd_config_free(&cfg);
	if (started)
		vt_info("stopped (status %d)", status);
	return status;
usage_error:
	free_inherited(inh, ninh);
	vtd_config_free(&cfg);
	return 2;
}
