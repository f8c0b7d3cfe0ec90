/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrustctl: the operator's client for vtrustd's control socket
 * (line-delimited JSON; see vtrustctl(1) and daemon/control.c).
 *
 *   vtrustctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND
 *     status | devices | metrics | leak DEVICE | rpmb info DEVICE
 *     rpmb ticket DEVICE | rpmb ticket-cancel DEVICE | rpmb arm DEVICE TICKET
 *     rpmb export DEVICE FILE TICKET | rpmb import DEVICE FILE
 *     rpmb cancel-export DEVICE RECEIPT | rpmb cancel-export DEVICE --no-receipt-override
 *     raw JSON
 *
 * Exit status: 0 success, 1 the daemon refused the request, 2 usage error,
 * 3 no connection or no reply.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/vtrust/control.sock"
#define MAX_REPLY (64u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: vtrustctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND\n"
		   "commands:\n"
		   "  status                      daemon and per-device state\n"
		   "  devices                     the device instances\n"
		   "  metrics                     Prometheus text format\n"
		   "  leak DEVICE                 signal an entropy-leak event (rng)\n"
		   "  rpmb info DEVICE            RPMB key state, write counter, size\n"
		   "  rpmb ticket DEVICE          (destination) issue an import ticket, print it\n"
		   "  rpmb ticket-cancel DEVICE   (destination) void the outstanding ticket, print\n"
		   "                              its void receipt (for cancel-export)\n"
		   "  rpmb export DEVICE FILE TICKET\n"
		   "                              (source) write the RPMB state for TICKET to FILE\n"
		   "  rpmb arm DEVICE TICKET      (source) the next DEVICE_STATE save is for TICKET\n"
		   "  rpmb import DEVICE FILE     (destination) load the RPMB state from FILE\n"
		   "  rpmb cancel-export DEVICE RECEIPT\n"
		   "                              (source) a failed migration: serve again, on the\n"
		   "                              destination's void receipt for the export's ticket\n"
		   "  rpmb cancel-export DEVICE --no-receipt-override\n"
		   "                              the same without a receipt (destination lost):\n"
		   "                              RISKS a rollback and two live copies (man page)\n"
		   "  raw JSON                    send one request line as is\n"
		   "socket: --socket, else $VTRUST_CONTROL_SOCKET, else " DEFAULT_SOCKET "\n");
}

static int connect_to(const char *path, int timeout_s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vtrustctl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "vtrustctl: cannot create a socket: %s\n", strerror(errno));
		return -1;
	}
	struct timeval tv = {.tv_sec = timeout_s};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vtrustctl: cannot connect to %s: %s (is vtrustd running? --socket PATH)\n",
			path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends all n bytes; false (said on stderr) if the socket refuses. */
static bool send_all(int fd, const char *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "vtrustctl: cannot send the request: %s (see vtrustd's log)\n",
				strerror(errno));
			return false;
		}
		off += (size_t)w;
	}
	return true;
}

/*
 * Sends one request line, returns the reply line (malloc'd) or NULL after one
 * line on stderr saying why.
 */
static char *roundtrip(int fd, const char *req, const char *path, int timeout_s)
{
	if (!send_all(fd, req, strlen(req)) || !send_all(fd, "\n", 1))
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n + 1 >= cap) {
			if (cap >= MAX_REPLY) {
				fprintf(stderr,
					"vtrustctl: no line end in the first %u MiB of the reply: is %s "
					"a vtrustd control socket?\n",
					MAX_REPLY >> 20, path);
				free(buf);
				return NULL;
			}
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			fprintf(stderr,
				"vtrustctl: no reply within %d s: vtrustd is busy or stuck (see its "
				"log; --timeout SECONDS waits longer)\n",
				timeout_s);
		else if (r < 0)
			fprintf(stderr, "vtrustctl: cannot read the reply: %s\n", strerror(errno));
		else if (r == 0 && n == 0)
			fprintf(stderr, "vtrustctl: vtrustd closed the connection without a reply "
					"(see its log)\n");
		else if (r == 0)
			fprintf(stderr,
				"vtrustctl: the connection closed after %zu bytes of a reply without "
				"a line end: is %s a vtrustd control socket?\n",
				n, path);
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		/* Only the new bytes: a long reply is not scanned again on every read. */
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	fprintf(stderr, "vtrustctl: out of memory for the reply\n");
	free(buf);
	return NULL;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return "-";
	return json_object_get_string(v);
}

static void print_fields(struct json_object *o, const char *indent, const char *skip1,
			 const char *skip2)
{
	json_object_object_foreach(o, k, v)
	{
		if (!strcmp(k, "ok") || (skip1 && !strcmp(k, skip1)) || (skip2 && !strcmp(k, skip2)))
			continue;
		if (json_object_is_type(v, json_type_object)) {
			printf("%s%s:\n", indent, k);
			char in2[32];
			snprintf(in2, sizeof(in2), "%s  ", indent);
			print_fields(v, in2, NULL, NULL);
		} else {
			printf("%s%s: %s\n", indent, k,
			       json_object_is_type(v, json_type_string)
				       ? json_object_get_string(v)
				       : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		}
	}
}

static void print_status(struct json_object *r)
{
	printf("vtrustd %s  pid %s  uptime %ss  uid %s  seccomp %s\n", str(r, "version"), str(r, "pid"),
	       str(r, "uptime_s"), str(r, "uid"), str(r, "seccomp"));
	struct json_object *devs;
	if (!json_object_object_get_ex(r, "devices", &devs) || !json_object_is_type(devs, json_type_array))
		return;
	printf("%-12s %-7s %-8s %-9s %10s %12s  %s\n", "DEVICE", "TYPE", "STATE", "FRONT-END",
	       "REQUESTS", "BYTES", "SOCKET");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct json_object *conn = NULL;
		bool attached = json_object_object_get_ex(d, "connected", &conn) &&
				json_object_get_boolean(conn);
		printf("%-12s %-7s %-8s %-9s %10s %12s  %s\n", str(d, "name"), str(d, "type"),
		       str(d, "state"), attached ? "connected" : "none", str(d, "requests"),
		       str(d, "bytes"), str(d, "socket"));
		struct json_object *dev;
		if (json_object_object_get_ex(d, "device", &dev) && json_object_is_type(dev, json_type_object))
			print_fields(dev, "    ", NULL, NULL);
	}
}

static void print_devices(struct json_object *r)
{
	struct json_object *devs;
	if (!json_object_object_get_ex(r, "devices", &devs) || !json_object_is_type(devs, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		printf("%s %s %s %s\n", str(d, "name"), str(d, "type"), str(d, "state"), str(d, "socket"));
	}
}

static char *abspath(const char *p)
{
	char cwd[PATH_MAX];
	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(p);
	size_t n = strlen(cwd) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", cwd, p);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = getenv("VTRUST_CONTROL_SOCKET");
	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	bool json = false;
	int timeout = 30;
	int c;
	while ((c = getopt_long(argc, argv, "+s:jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			timeout = atoi(optarg);
			if (timeout <= 0) {
				fprintf(stderr, "vtrustctl: --timeout expects seconds\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	int nargs = argc - optind;
	char **a = argv + optind;
	if (nargs < 1) {
		usage(stderr);
		return 2;
	}

	struct json_object *req = json_object_new_object();
	const char *cmd = a[0];
	const char *raw = NULL;
	char *file = NULL;
	enum { OUT_STATUS, OUT_DEVICES, OUT_METRICS, OUT_FIELDS, OUT_TICKET, OUT_RECEIPT } out = OUT_FIELDS;
	if (!strcmp(cmd, "status") && nargs == 1) {
		json_object_object_add(req, "cmd", json_object_new_string("status"));
		out = OUT_STATUS;
	} else if (!strcmp(cmd, "devices") && nargs == 1) {
		json_object_object_add(req, "cmd", json_object_new_string("devices"));
		out = OUT_DEVICES;
	} else if (!strcmp(cmd, "metrics") && nargs == 1) {
		json_object_object_add(req, "cmd", json_object_new_string("metrics"));
		out = OUT_METRICS;
	} else if (!strcmp(cmd, "leak") && nargs == 2) {
		json_object_object_add(req, "cmd", json_object_new_string("leak"));
		json_object_object_add(req, "device", json_object_new_string(a[1]));
	} else if (!strcmp(cmd, "rpmb") && nargs == 3 && !strcmp(a[1], "info")) {
		json_object_object_add(req, "cmd", json_object_new_string("rpmb-info"));
		json_object_object_add(req, "device", json_object_new_string(a[2]));
	} else if (!strcmp(cmd, "rpmb") && ((nargs == 5 && !strcmp(a[1], "export")) ||
					      (nargs == 4 && !strcmp(a[1], "import")))) {
		char name[32];
		snprintf(name, sizeof(name), "rpmb-%s", a[1]);
		json_object_object_add(req, "cmd", json_object_new_string(name));
		json_object_object_add(req, "device", json_object_new_string(a[2]));
		/* The daemon opens the file: give it an absolute path. */
		file = abspath(a[3]);
		struct json_object *args = json_object_new_object();
		json_object_object_add(args, "path", json_object_new_string(file ? file : a[3]));
		if (nargs == 5)
			json_object_object_add(args, "ticket", json_object_new_string(a[4]));
		json_object_object_add(req, "args", args);
	} else if (!strcmp(cmd, "rpmb") && nargs == 3 &&
		   (!strcmp(a[1], "ticket") || !strcmp(a[1], "ticket-cancel"))) {
		char name[32];
		snprintf(name, sizeof(name), "rpmb-%s", a[1]);
		json_object_object_add(req, "cmd", json_object_new_string(name));
		json_object_object_add(req, "device", json_object_new_string(a[2]));
		out = !strcmp(a[1], "ticket") ? OUT_TICKET : OUT_RECEIPT;
	} else if (!strcmp(cmd, "rpmb") && nargs == 4 && !strcmp(a[1], "arm")) {
		json_object_object_add(req, "cmd", json_object_new_string("rpmb-arm"));
		json_object_object_add(req, "device", json_object_new_string(a[2]));
		struct json_object *args = json_object_new_object();
		json_object_object_add(args, "ticket", json_object_new_string(a[3]));
		json_object_object_add(req, "args", args);
	} else if (!strcmp(cmd, "rpmb") && nargs == 4 && !strcmp(a[1], "cancel-export")) {
		json_object_object_add(req, "cmd", json_object_new_string("rpmb-cancel-export"));
		json_object_object_add(req, "device", json_object_new_string(a[2]));
		struct json_object *args = json_object_new_object();
		if (!strcmp(a[3], "--no-receipt-override"))
			json_object_object_add(args, "no_receipt_override",
					       json_object_new_boolean(1));
		else
			json_object_object_add(args, "receipt", json_object_new_string(a[3]));
		json_object_object_add(req, "args", args);
	} else if (!strcmp(cmd, "raw") && nargs == 2) {
		raw = a[1];
	} else {
		usage(stderr);
		json_object_put(req);
		return 2;
	}

	int fd = connect_to(sock, timeout);
	if (fd < 0) {
		json_object_put(req);
		free(file);
		return 3;
	}
	char *line = roundtrip(fd, raw ? raw : json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			       sock, timeout);
	close(fd);
	json_object_put(req);
	free(file);
	if (!line)
		return 3;
	struct json_object *reply = json_tokener_parse(line);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		fprintf(stderr, "vtrustctl: the reply is not a JSON object: %.200s\n", line);
		free(line);
		json_object_put(reply);
		return 3;
	}
	struct json_object *ok = NULL;
	bool success = json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok);
	if (json || raw) {
		printf("%s\n", line);
	} else if (!success) {
		fprintf(stderr, "vtrustctl: %s\n", str(reply, "error"));
	} else if (out == OUT_STATUS) {
		print_status(reply);
	} else if (out == OUT_DEVICES) {
		print_devices(reply);
	} else if (out == OUT_METRICS) {
		fputs(str(reply, "metrics"), stdout);
	} else if (out == OUT_TICKET) {
		printf("%s\n", str(reply, "ticket"));
	} else if (out == OUT_RECEIPT) {
		printf("%s\n", str(reply, "receipt"));
	} else {
		print_fields(reply, "", "device", "warning");
	}
	/* A command that worked but did not do what the operator likely meant (e.g. a leak event
	 * no driver saw) says so on stderr, so scripts see it too. */
	struct json_object *warn = NULL;
	if (success && !json && !raw && json_object_object_get_ex(reply, "warning", &warn))
		fprintf(stderr, "vtrustctl: warning: %s\n", json_object_get_string(warn));
	free(line);
	json_object_put(reply);
	return success ? 0 : 1;
}
