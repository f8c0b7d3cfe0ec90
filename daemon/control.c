/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: a Unix stream socket (mode 0600, or 0660 with a
 * configured group) speaking line-delimited JSON, one request per line and
 * one reply line per request:
 *
 *   {"cmd":"status"} {"cmd":"devices"} {"cmd":"metrics"} {"cmd":"commands"}
 *   {"cmd":"leak","device":"rng0"}               device commands go to the
 *   {"cmd":"rpmb-info","device":"rpmb0","args":{...}}   device type's control hook
 *   optional "id" (any JSON value) is echoed back.
 *
 * Replies: {"ok":true,...} or {"ok":false,"error":"one line"}. Requests are
 * bounded (control_max_request bytes, JSON nesting 16), clients are bounded
 * (control_max_clients; more are told so and closed), sockets are
 * non-blocking with per-client buffers, idle clients are dropped after 60 s,
 * and a client that does not read its replies stops being read.
 *
 * The same thread (the control thread) serves the optional loopback HTTP
 * /metrics endpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "unix_listen.h"
#include "vtrustd.h"

#define IDLE_TIMEOUT_S 60
#define MAX_PENDING_OUT (8u << 20)
#define HTTP_MAX_REQUEST 8192
#define JSON_MAX_DEPTH 16

enum client_kind { CLIENT_CONTROL, CLIENT_HTTP };

struct client {
	int fd;
	enum client_kind kind;
	char *in;
	size_t in_len, in_cap;
	struct vtd_buf out;
	size_t out_off;
	bool closing; /* close once out is flushed */
	time_t last;
};

struct vtd_control {
	struct vtd_config *cfg;
	int listen_fd;
	int http_fd;
	int stop_fd;
	char *path; /* unlinked at exit when we created it */
	pthread_t thread;
	bool running;
	struct client *clients;
	unsigned nclients;
};

static struct timespec g_started;

/* ---- request handling ---- */

static struct json_object *error_reply(const char *fmt, ...) VT_PRINTF(1, 2);
static struct json_object *error_reply(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static struct json_object *ok_reply(void)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "ok", json_object_new_boolean(1));
	return r;
}

static struct json_object *instance_json(struct vtd_instance *in, bool detail)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(in->name));
	json_object_object_add(o, "type", json_object_new_string(in->type->type));
	json_object_object_add(o, "state",
			       json_object_new_string(vtd_instance_state_name(atomic_load(&in->state))));
	json_object_object_add(o, "socket", json_object_new_string(in->socket_path[0] ? in->socket_path
										: "(inherited fd)"));
	if (in->inherited)
		json_object_object_add(o, "inherited", json_object_new_boolean(1));
	if (!detail || !in->dev)
		return o;
	struct vt_device *d = in->dev;
	json_object_object_add(o, "connected",
			       json_object_new_boolean(atomic_load(&d->stats.connected)));
	json_object_object_add(o, "connections_total",
			       json_object_new_int64((int64_t)atomic_load(&d->stats.connections)));
	json_object_object_add(o, "messages",
			       json_object_new_int64((int64_t)atomic_load(&d->stats.messages)));
	uint64_t req = 0, bytes = 0, broken = 0;
	for (unsigned i = 0; i < d->nqueues; i++) {
		const struct vt_queue_stats *qs = vt_queue_stats(vt_device_queue(d, i));
		req += atomic_load(&qs->chains);
		bytes += atomic_load(&qs->used_bytes);
		broken += atomic_load(&qs->broken);
	}
	json_object_object_add(o, "queues", json_object_new_int(d->nqueues));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)req));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "broken_rings", json_object_new_int64((int64_t)broken));
	if (in->type->status && in->priv) {
		struct json_object *dev = json_object_new_object();
		in->type->status(in->priv, dev);
		json_object_object_add(o, "device", dev);
	}
	return o;
}

static struct json_object *cmd_status(struct vtd_config *c)
{
	struct json_object *r = ok_reply();
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	json_object_object_add(r, "version", json_object_new_string(VTRUST_VERSION));
	json_object_object_add(r, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(r, "uptime_s", json_object_new_int64((int64_t)(now.tv_sec - g_started.tv_sec)));
	json_object_object_add(r, "uid", json_object_new_int((int)geteuid()));
	json_object_object_add(r, "seccomp", json_object_new_string(vtd_seccomp_name(c->seccomp)));
	if (c->state_dir)
		json_object_object_add(r, "state_dir", json_object_new_string(c->state_dir));
	struct json_object *devs = json_object_new_array();
	for (unsigned i = 0; i < c->ninst; i++)
		json_object_array_add(devs, instance_json(c->inst[i], true));
	json_object_object_add(r, "devices", devs);
	return r;
}

static struct json_object *cmd_devices(struct vtd_config *c)
{
	struct json_object *r = ok_reply();
	struct json_object *devs = json_object_new_array();
	for (unsigned i = 0; i < c->ninst; i++)
		json_object_array_add(devs, instance_json(c->inst[i], false));
	json_object_object_add(r, "devices", devs);
	return r;
}

static struct json_object *cmd_metrics(struct vtd_config *c)
{
	struct vtd_buf b = {0};
	vtd_metrics_render(c, &b);
	if (b.oom) {
		vtd_buf_free(&b);
		return error_reply("out of memory");
	}
	struct json_object *r = ok_reply();
	json_object_object_add(r, "metrics", json_object_new_string(b.data ? b.data : ""));
	vtd_buf_free(&b);
	return r;
}

static struct json_object *cmd_commands(struct vtd_config *c)
{
	struct json_object *r = ok_reply();
	struct json_object *a = json_object_new_array();
	static const char *const builtin[] = {"status", "devices", "metrics", "commands"};
	for (unsigned i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		json_object_array_add(a, json_object_new_string(builtin[i]));
	if (c->debug_commands)
		json_object_array_add(a, json_object_new_string("debug-seccomp"));
	json_object_object_add(r, "commands", a);
	return r;
}

static struct json_object *cmd_device(struct vtd_config *c, const char *cmd,
				      struct json_object *req)
{
	struct json_object *jdev = NULL, *args = NULL;
	if (!json_object_object_get_ex(req, "device", &jdev))
		return error_reply("unknown command '%s' (device commands need \"device\")", cmd);
	if (!json_object_is_type(jdev, json_type_string))
		return error_reply("\"device\" must be a string");
	const char *name = json_object_get_string(jdev);
	struct vtd_instance *in = vtd_instance_find(c, name);
	if (!in)
		return error_reply("no device named '%.64s'", name);
	if (json_object_object_get_ex(req, "args", &args) && !json_object_is_type(args, json_type_object))
		return error_reply("\"args\" must be an object");
	if (!in->type->control || !in->priv)
		return error_reply("a %s device has no command '%s'", in->type->type, cmd);
	struct json_object *own_args = NULL;
	if (!args)
		args = own_args = json_object_new_object();
	struct json_object *reply = json_object_new_object();
	int r = in->type->control(in->priv, cmd, args, reply);
	json_object_put(own_args);
	if (r == -ENOTSUP) {
		json_object_put(reply);
		return error_reply("a %s device has no command '%s'", in->type->type, cmd);
	}
	if (r < 0) {
		struct json_object *e = NULL;
		const char *why = json_object_object_get_ex(reply, "error", &e) &&
						  json_object_is_type(e, json_type_string)
					  ? json_object_get_string(e)
					  : strerror(-r);
		struct json_object *er = error_reply("%s: %s: %.200s", name, cmd, why);
		json_object_put(reply);
		return er;
	}
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "device", json_object_new_string(name));
	vt_info("control: %s on %s", cmd, name);
	return reply;
}

struct json_object *vtd_control_handle_line(struct vtd_config *c, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return error_reply("empty request");
	if (len > c->control_max_request)
		return error_reply("request longer than %zu bytes", c->control_max_request);
	if (memchr(line, '\0', len))
		return error_reply("NUL byte in request");
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return error_reply("out of memory");
	struct json_object *req = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!req || jerr != json_tokener_success) {
		json_object_put(req);
		return error_reply("malformed JSON: %s",
				   jerr == json_tokener_continue ? "incomplete"
								 : json_tokener_error_desc(jerr));
	}
	for (; used < len; used++) {
		if (line[used] != ' ' && line[used] != '\t') {
			json_object_put(req);
			return error_reply("malformed JSON: trailing data after the request");
		}
	}
	struct json_object *reply;
	struct json_object *jcmd = NULL, *id = NULL;
	if (!json_object_is_type(req, json_type_object)) {
		reply = error_reply("a request must be a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(req, "cmd", &jcmd) || !json_object_is_type(jcmd, json_type_string)) {
		reply = error_reply("missing \"cmd\" (a string)");
		goto out;
	}
	const char *cmd = json_object_get_string(jcmd);
	if (!strcmp(cmd, "status")) {
		reply = cmd_status(c);
	} else if (!strcmp(cmd, "devices")) {
		reply = cmd_devices(c);
	} else if (!strcmp(cmd, "metrics")) {
		reply = cmd_metrics(c);
	} else if (!strcmp(cmd, "commands")) {
		reply = cmd_commands(c);
	} else if (!strcmp(cmd, "debug-seccomp")) {
		if (!c->debug_commands) {
			reply = error_reply("debug commands are off (debug_commands = true)");
		} else {
			int blocked = vtd_seccomp_try_forbidden();
			vt_notice("control: debug-seccomp: forbidden syscall %s",
				  blocked ? "blocked" : "ran");
			reply = ok_reply();
			json_object_object_add(reply, "blocked", json_object_new_boolean(blocked));
			json_object_object_add(reply, "seccomp",
					       json_object_new_string(vtd_seccomp_name(c->seccomp)));
		}
	} else {
		reply = cmd_device(c, cmd, req);
	}
out:
	if (json_object_is_type(req, json_type_object) && json_object_object_get_ex(req, "id", &id))
		json_object_object_add(reply, "id", json_object_get(id));
	json_object_put(req);
	return reply;
}

/* ---- socket ---- */

static int control_listen(struct vtd_config *c, const char *path, char **created)
{
	mode_t mode = c->control_mode;
	if (c->control_gid != (gid_t)-1 && c->control_mode == 0600)
		mode = 0660;
	int r, fd = vt_unix_listen(path, mode, 16, SOCK_NONBLOCK, NULL, "control socket");
	if (fd < 0)
		return fd;
	if (c->control_gid != (gid_t)-1 && lchown(path, (uid_t)-1, c->control_gid) < 0) {
		r = -errno;
		close(fd);
		(void)unlink(path);
		return r;
	}
	*created = strdup(path);
	return fd;
}

int vtd_control_open(struct vtd_config *c, int inherited_fd, struct vtd_control **ret)
{
	struct vtd_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->cfg = c;
	ctl->listen_fd = ctl->http_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &g_started);
	ctl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ctl->clients = calloc(c->control_max_clients, sizeof(*ctl->clients));
	int r = -ENOMEM;
	if (ctl->stop_fd < 0 || !ctl->clients)
		goto fail;
	if (inherited_fd >= 0) {
		ctl->listen_fd = inherited_fd;
		int fl = fcntl(inherited_fd, F_GETFL);
		if (fl < 0 || fcntl(inherited_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			r = -errno;
			goto fail;
		}
	} else if (c->control_socket) {
		r = control_listen(c, c->control_socket, &ctl->path);
		if (r < 0) {
			vt_err("cannot listen on the control socket %s: %s", c->control_socket,
			       strerror(-r));
			goto fail;
		}
		ctl->listen_fd = r;
	}
	if (c->metrics_http) {
		r = vtd_http_listen(c->metrics_http);
		if (r < 0)
			goto fail;
		ctl->http_fd = r;
	}
	*ret = ctl;
	return 0;
fail:
	vtd_control_free(ctl);
	return r;
}

/* ---- the control thread ---- */

static void client_close(struct vtd_control *ctl, unsigned i)
{
	struct client *cl = &ctl->clients[i];
	close(cl->fd);
	free(cl->in);
	vtd_buf_free(&cl->out);
	ctl->clients[i] = ctl->clients[--ctl->nclients];
	memset(&ctl->clients[ctl->nclients], 0, sizeof(*cl));
}

static void reply_line(struct client *cl, struct json_object *reply)
{
	const char *s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	vtd_buf_append(&cl->out, s, strlen(s));
	vtd_buf_append(&cl->out, "\n", 1);
	json_object_put(reply);
}

static void http_reply(struct vtd_control *ctl, struct client *cl, enum vtd_http_result res,
		       bool head)
{
	struct vtd_buf body = {0};
	const char *status = "200 OK";
	const char *ctype = "text/plain; version=0.0.4; charset=utf-8";
	switch (res) {
	case VTD_HTTP_METRICS:
		vtd_metrics_render(ctl->cfg, &body);
		if (body.oom) {
			vtd_buf_free(&body);
			status = "500 Internal Server Error";
		}
		break;
	case VTD_HTTP_NOT_FOUND:
		status = "404 Not Found";
		break;
	case VTD_HTTP_BAD_METHOD:
		status = "405 Method Not Allowed";
		break;
	default:
		status = "400 Bad Request";
		break;
	}
	if (res != VTD_HTTP_METRICS || body.oom) {
		ctype = "text/plain; charset=utf-8";
		vtd_buf_printf(&body, "%s\n", status);
	}
	vtd_buf_printf(&cl->out,
		       "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n%s\r\n",
		       status, ctype, body.len, res == VTD_HTTP_BAD_METHOD ? "Allow: GET, HEAD\r\n" : "");
	if (!head && body.len)
		vtd_buf_append(&cl->out, body.data, body.len);
	vtd_buf_free(&body);
	cl->closing = true;
}

/* Answers every complete request a client sent (eof: and a last unterminated one). */
static void client_process(struct vtd_control *ctl, struct client *cl, bool eof)
{
	if (cl->kind == CLIENT_HTTP) {
		bool head = false;
		enum vtd_http_result res = vtd_http_parse(cl->in, cl->in_len, HTTP_MAX_REQUEST, &head);
		if (res == VTD_HTTP_INCOMPLETE && !eof)
			return;
		http_reply(ctl, cl, res == VTD_HTTP_INCOMPLETE ? VTD_HTTP_BAD_REQUEST : res, head);
		cl->in_len = 0;
		return;
	}
	size_t start = 0;
	for (;;) {
		char *nl = memchr(cl->in + start, '\n', cl->in_len - start);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (cl->in + start));
		reply_line(cl, vtd_control_handle_line(ctl->cfg, cl->in + start, len));
		start += len + 1;
	}
	memmove(cl->in, cl->in + start, cl->in_len - start);
	cl->in_len -= start;
	if (cl->in_len > ctl->cfg->control_max_request) {
		reply_line(cl, error_reply("request longer than %zu bytes", ctl->cfg->control_max_request));
		cl->closing = true;
		cl->in_len = 0;
	} else if (eof && cl->in_len) {
		/* A last request without its newline. */
		reply_line(cl, vtd_control_handle_line(ctl->cfg, cl->in, cl->in_len));
		cl->in_len = 0;
	}
}

static bool client_read(struct vtd_control *ctl, struct client *cl)
{
	size_t max = cl->kind == CLIENT_HTTP ? HTTP_MAX_REQUEST : ctl->cfg->control_max_request;
	size_t limit = max + 4096; /* over-long requests are refused before the buffer is full */
	for (int round = 0; round < 64 && !cl->closing; round++) {
		if (cl->in_cap - cl->in_len < 4096 && cl->in_cap < limit) {
			size_t cap = cl->in_cap ? cl->in_cap * 2 : 8192;
			if (cap > limit)
				cap = limit;
			char *n = realloc(cl->in, cap);
			if (!n)
				return false;
			cl->in = n;
			cl->in_cap = cap;
		}
		if (cl->in_cap == cl->in_len)
			return false;
		ssize_t r = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return false;
		}
		if (r == 0) {
			client_process(ctl, cl, true);
			cl->closing = true;
			return true;
		}
		cl->in_len += (size_t)r;
		cl->last = time(NULL);
		client_process(ctl, cl, false);
	}
	return true;
}

static bool client_write(struct client *cl)
{
	while (cl->out_off < cl->out.len) {
		ssize_t w = send(cl->fd, cl->out.data + cl->out_off, cl->out.len - cl->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			return false;
		}
		cl->out_off += (size_t)w;
		cl->last = time(NULL);
	}
	cl->out.len = cl->out_off = 0;
	return !cl->closing;
}

static void accept_clients(struct vtd_control *ctl, int lfd, enum client_kind kind)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (ctl->nclients >= ctl->cfg->control_max_clients) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
			static const char busy_http[] =
				"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			ssize_t w = kind == CLIENT_HTTP ? send(fd, busy_http, sizeof(busy_http) - 1, MSG_NOSIGNAL)
							: send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			(void)w;
			close(fd);
			vt_warn("control: refusing a client: %u already connected", ctl->nclients);
			continue;
		}
		if (kind == CLIENT_CONTROL) {
			struct ucred cr;
			socklen_t cl = sizeof(cr);
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
				vt_debug("control: client pid %d uid %u", (int)cr.pid, (unsigned)cr.uid);
		}
		ctl->clients[ctl->nclients++] = (struct client){.fd = fd, .kind = kind, .last = time(NULL)};
	}
}

static void *control_main(void *arg)
{
	struct vtd_control *ctl = arg;
	unsigned maxc = ctl->cfg->control_max_clients;
	struct pollfd *p = calloc(maxc + 3, sizeof(*p));
	if (!p) {
		vt_err("control: out of memory");
		return NULL;
	}
	for (;;) {
		unsigned n = 0;
		p[n++] = (struct pollfd){.fd = ctl->stop_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = ctl->listen_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = ctl->http_fd, .events = POLLIN};
		for (unsigned i = 0; i < ctl->nclients; i++) {
			struct client *cl = &ctl->clients[i];
			short ev = 0;
			if (!cl->closing && cl->out.len - cl->out_off < MAX_PENDING_OUT)
				ev |= POLLIN;
			if (cl->out.len > cl->out_off)
				ev |= POLLOUT;
			p[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		int r = poll(p, n, 1000);
		if (r < 0 && errno != EINTR) {
			vt_err("control: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		time_t now = time(NULL);
		/* Clients first (indexes match p[3..]); walk backwards: closing swaps in the last. */
		unsigned nc = ctl->nclients;
		for (unsigned k = nc; k-- > 0;) {
			struct client *cl = &ctl->clients[k];
			short re = r > 0 ? p[3 + k].revents : 0;
			bool keep = true;
			if (re & POLLIN)
				keep = client_read(ctl, cl);
			else if (re & (POLLHUP | POLLERR))
				keep = (re & POLLHUP) && !(re & POLLERR) && client_read(ctl, cl);
			if (keep && (cl->out.len > cl->out_off || cl->closing))
				keep = client_write(cl);
			if (keep && now - cl->last > IDLE_TIMEOUT_S) {
				vt_debug("control: dropping an idle client");
				keep = false;
			}
			if (!keep)
				client_close(ctl, k);
		}
		if (r > 0 && (p[1].revents & POLLIN))
			accept_clients(ctl, ctl->listen_fd, CLIENT_CONTROL);
		if (r > 0 && (p[2].revents & POLLIN))
			accept_clients(ctl, ctl->http_fd, CLIENT_HTTP);
	}
	free(p);
	while (ctl->nclients)
		client_close(ctl, ctl->nclients - 1);
	return NULL;
}

static void *control_thread(void *arg)
{
	struct vtd_control *ctl = arg;
	if (vtd_seccomp_load(VTD_THREAD_CONTROL, ctl->cfg->seccomp) < 0) {
		vt_err("control: no seccomp filter: control socket closed");
		return NULL;
	}
	return control_main(ctl);
}

int vtd_control_start(struct vtd_control *ctl)
{
	if (ctl->listen_fd < 0 && ctl->http_fd < 0)
		return 0;
	int r = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (r)
		return -r;
	(void)pthread_setname_np(ctl->thread, "vt-control");
	ctl->running = true;
	return 0;
}

void vtd_control_stop(struct vtd_control *ctl)
{
	if (!ctl || !ctl->running)
		return;
	uint64_t one = 1;
	ssize_t w = write(ctl->stop_fd, &one, sizeof(one));
	(void)w;
	pthread_join(ctl->thread, NULL);
	ctl->running = false;
}

void vtd_control_free(struct vtd_control *ctl)
{
	if (!ctl)
		return;
	vtd_control_stop(ctl);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->http_fd >= 0)
		close(ctl->http_fd);
	if (ctl->stop_fd >= 0)
		close(ctl->stop_fd);
	if (ctl->path)
		(void)unlink(ctl->path);
	free(ctl->path);
	free(ctl->clients);
	free(ctl);
}
