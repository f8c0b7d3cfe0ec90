/* SPDX-License-Identifier: Apache-2.0 */
/* The conformance harness: case loop, post-case health check, verdict helpers. */
#include "conformance.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>

#include "fe_time.h"

enum conf_result conf_fail(struct conf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return CONF_FAIL;
}

enum conf_result conf_skip(struct conf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return CONF_SKIP;
}

void conf_outcome(struct conf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(c->outcome, sizeof(c->outcome), fmt, ap);
	va_end(ap);
}

int conf_open(struct conf_ctx *c, const struct fe_dev_opts *opts, enum conf_setup setup,
	      struct fe_dev **ret)
{
	struct fe_dev *d;
	int r = fe_dev_connect(opts, &d);

	if (r < 0) {
		(void)conf_fail(c, "cannot connect to %s: %s", opts->socket_path, strerror(-r));
		return r;
	}
	if (setup == CONF_SETUP_CONNECTED) {
		/* One GET_FEATURES proves the back-end took this connection (fe_vu_hello). */
		uint64_t f;
		r = fe_vu_hello(d->vu, &f);
		if (r < 0) {
			(void)conf_fail(c, "first GET_FEATURES failed: %s", d->vu->error);
			goto fail;
		}
	}
	if (setup >= CONF_SETUP_NEGOTIATED) {
		r = fe_dev_negotiate(d);
		if (r < 0) {
			(void)conf_fail(c, "init sequence failed: %s", d->vu->error);
			goto fail;
		}
	}
	if (setup >= CONF_SETUP_STARTED) {
		r = fe_dev_start(d);
		if (r < 0) {
			(void)conf_fail(c, "start sequence failed: %s", d->vu->error);
			goto fail;
		}
	}
	*ret = d;
	return 0;
fail:
	fe_dev_close(d);
	return r;
}

enum conf_result conf_sanity(struct conf_ctx *c, struct fe_dev *d, unsigned q, const char *when)
{
	char why[384] = "";
	int r = c->probe->device->sanity(d, q, why, sizeof(why));
	if (r < 0)
		return conf_fail(c, "%s: %s", when, why[0] ? why : strerror(-r));
	return CONF_PASS;
}

enum conf_result conf_expect_alive(struct conf_ctx *c)
{
	uint64_t f;
	int r = fe_vu_get_features(c->dev->vu, &f);

	if (r == 0)
		return CONF_PASS;
	if (r == -ECONNRESET) {
		if (!c->outcome[0])
			conf_outcome(c, "closed");
		return CONF_PASS;
	}
	return conf_fail(c, "GET_FEATURES afterwards not answered: %s", c->dev->vu->error);
}

enum conf_result conf_expect_refusal_hdr(struct conf_ctx *c, const struct vhost_user_header *hdr,
					 const void *payload, size_t len, const int *fds,
					 unsigned nfds)
{
	struct fe_vu *vu = c->dev->vu;
	bool ack = hdr->flags & VHOST_USER_NEED_REPLY_MASK;
	struct fe_vu_msg msg;
	uint64_t v;

	int r = fe_vu_send_msg(vu, hdr, payload, len, fds, nfds);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r < 0)
		return conf_fail(c, "sending the message failed: %s", vu->error);
	if (!ack) {
		enum conf_result res = conf_expect_alive(c);
		if (res == CONF_PASS && !c->outcome[0])
			conf_outcome(c, "silent (no REPLY_ACK negotiated)");
		return res;
	}
	r = fe_vu_recv_msg(vu, &msg);
	fe_vu_msg_close_fds(&msg);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r == -ETIMEDOUT)
		return conf_fail(c, "no answer within %d ms (hung?)", vu->timeout_ms);
	if (r < 0)
		return conf_fail(c, "malformed answer: %s", vu->error);
	if (msg.hdr.request != hdr->request || msg.hdr.size != sizeof(v))
		return conf_fail(c, "answer is request %u size %u, not a u64 ack to %u",
				 msg.hdr.request, msg.hdr.size, hdr->request);
	memcpy(&v, msg.payload, sizeof(v));
	if (v == 0)
		return conf_fail(c, "accepted (REPLY_ACK 0)");
	conf_outcome(c, "nack");
	enum conf_result res = conf_expect_alive(c);
	if (res == CONF_PASS && strcmp(c->outcome, "closed") == 0)
		conf_outcome(c, "nack, then closed");
	return res;
}

enum conf_result conf_expect_refusal(struct conf_ctx *c, uint32_t request, uint32_t hdr_size,
				     const void *payload, size_t len, const int *fds, unsigned nfds)
{
	/* NEED_REPLY only means something once REPLY_ACK is negotiated. */
	bool ack = fe_vu_has_protocol(c->dev->vu, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct vhost_user_header hdr = {
	    .request = request,
	    .flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY_MASK : 0),
	    .size = hdr_size,
	};
	return conf_expect_refusal_hdr(c, &hdr, payload, len, fds, nfds);
}

enum conf_result conf_expect_survival_hdr(struct conf_ctx *c, const struct vhost_user_header *hdr,
					  const void *payload, size_t len, const int *fds,
					  unsigned nfds)
{
	struct fe_vu *vu = c->dev->vu;
	struct fe_vu_msg msg;

	int r = fe_vu_send_msg(vu, hdr, payload, len, fds, nfds);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r < 0)
		return conf_fail(c, "sending the message failed: %s", vu->error);
	r = fe_vu_recv_msg(vu, &msg);
	fe_vu_msg_close_fds(&msg);
	if (r == -ECONNRESET) {
		conf_outcome(c, "closed");
		return CONF_PASS;
	}
	if (r == -ETIMEDOUT)
		return conf_fail(c, "no answer within %d ms (hung?)", vu->timeout_ms);
	if (r < 0)
		return conf_fail(c, "malformed answer: %s", vu->error);
	if (msg.hdr.request != hdr->request)
		return conf_fail(c, "answered request %u instead of %u", msg.hdr.request,
				 hdr->request);
	conf_outcome(c, "replied (%u bytes)", msg.hdr.size);
	return conf_expect_alive(c);
}

enum conf_result conf_expect_survival(struct conf_ctx *c, uint32_t request, uint32_t hdr_size,
				      const void *payload, size_t len, const int *fds,
				      unsigned nfds)
{
	struct vhost_user_header hdr = {
	    .request = request, .flags = VHOST_USER_VERSION, .size = hdr_size};
	return conf_expect_survival_hdr(c, &hdr, payload, len, fds, nfds);
}

enum conf_result conf_restart_and_serve(struct conf_ctx *c)
{
	struct fe_dev *d = c->dev;
	char before[sizeof(c->outcome)];

	snprintf(before, sizeof(before), "%s", c->outcome[0] ? c->outcome : "refused");
	if (d->vu->peer_closed) {
		if (!c->outcome[0])
			conf_outcome(c, "closed");
		return CONF_PASS;
	}
	int r = fe_dev_restart_vq(d, 0);
	if (r == -ECONNRESET) {
		conf_outcome(c, "%s, then closed", before);
		return CONF_PASS;
	}
	if (r < 0)
		return conf_fail(c, "restarting the ring with good values failed: %s",
				 d->vu->error);
	return conf_sanity(c, d, 0, "ring restarted with good values");
}

int conf_canary(struct conf_ctx *c)
{
	int p[2];
	if (c->canary_fd >= 0)
		return -EBUSY;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	c->canary_fd = p[0];
	return p[1];
}

enum conf_result conf_expect_canary_closed(struct conf_ctx *c)
{
	uint64_t deadline = fe_deadline(c->opts.timeout_ms);
	char b;

	for (;;) {
		struct pollfd p = {.fd = c->canary_fd, .events = POLLIN};
		int n = poll(&p, 1, fe_remaining_ms(deadline));
		if (n == 0)
			return conf_fail(c,
					 "the back-end kept an fd of a refused message (fd leak)");
		if (n < 0 && errno != EINTR)
			return conf_fail(c, "poll: %m");
		if (n > 0 && read(c->canary_fd, &b, 1) == 0)
			return CONF_PASS;
	}
}

/* Alive means the process exists and is not a zombie. */
static bool proc_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

struct run_state {
	pid_t pid; /* the back-end process, from the last connection */
	bool unreachable;
	char lost_after[128];
	unsigned passed, failed, skipped;
	unsigned nack, closed, silent;
	json_object *results;
};

/* The back-end still serves correct requests on a new connection. */
static enum conf_result post_check(struct conf_ctx *c, struct run_state *st)
{
	struct fe_dev *d;
	enum conf_result res;

	if (st->pid > 0 && !proc_alive(st->pid)) {
		st->unreachable = true;
		return conf_fail(c, "the back-end process %d died", (int)st->pid);
	}
	/* The probe's own options, not whatever the case changed. */
	if (conf_open(c, &c->probe->dev, CONF_SETUP_STARTED, &d) < 0) {
		st->unreachable = true;
		/* The socket closes before the process is gone: look again now. */
		if (st->pid > 0 && !proc_alive(st->pid))
			return conf_fail(c, "the back-end process %d died", (int)st->pid);
		return CONF_FAIL;
	}
	if (d->vu->peer_pid > 0)
		st->pid = d->vu->peer_pid;
	res = conf_sanity(c, d, 0, "a fresh connection is not served correctly");
	fe_dev_close(d);
	if (res == CONF_PASS && st->pid > 0 && !proc_alive(st->pid)) {
		st->unreachable = true;
		return conf_fail(c, "the back-end process %d died", (int)st->pid);
	}
	return res;
}

static void report(struct conf_ctx *c, struct run_state *st, const char *name, enum conf_result res)
{
	static const char *const words[] = {"PASS", "FAIL", "SKIP"};
	FILE *f = c->probe->out;

	if (res == CONF_PASS)
		st->passed++;
	else if (res == CONF_FAIL)
		st->failed++;
	else
		st->skipped++;
	if (res == CONF_PASS) {
		st->nack += strncmp(c->outcome, "nack", 4) == 0;
		st->closed += strcmp(c->outcome, "closed") == 0;
		st->silent += strncmp(c->outcome, "silent", 6) == 0;
	}
	if (st->results) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "result", json_object_new_string(words[res]));
		if (res != CONF_PASS)
			json_object_object_add(o, "reason", json_object_new_string(c->reason));
		if (c->outcome[0])
			json_object_object_add(o, "outcome", json_object_new_string(c->outcome));
		json_object_array_add(st->results, o);
		return;
	}
	if (res == CONF_PASS)
		fprintf(f, "PASS %s\n", name);
	else
		fprintf(f, "%s %s: %s\n", words[res], name, c->reason);
	if (c->probe->verbose && c->outcome[0])
		fprintf(f, "  outcome: %s\n", c->outcome);
	fflush(f);
}

static void reset_ctx(struct conf_ctx *c, const struct conf_case *cc)
{
	c->cur = cc;
	c->reason[0] = '\0';
	c->outcome[0] = '\0';
	c->opts = c->probe->dev;
	c->dev = NULL;
	c->canary_fd = -1;
}

static void run_case(struct conf_ctx *c, struct run_state *st, const struct conf_case *cc)
{
	enum conf_result res;

	reset_ctx(c, cc);
	if (st->unreachable) {
		(void)conf_fail(c, "not run: the back-end is unreachable since %s", st->lost_after);
		report(c, st, cc->name, CONF_FAIL);
		return;
	}
	if (cc->setup != CONF_SETUP_NONE && conf_open(c, &c->opts, cc->setup, &c->dev) < 0) {
		res = CONF_FAIL;
		char why[sizeof(c->reason)];
		snprintf(why, sizeof(why), "%s", c->reason);
		(void)conf_fail(c, "setup: %s", why);
	} else {
		res = cc->run(c);
	}
	if (c->dev && c->dev->vu->peer_pid > 0)
		st->pid = c->dev->vu->peer_pid;
	c->dev = fe_dev_close(c->dev);
	if (c->canary_fd >= 0) {
		(void)close(c->canary_fd);
		c->canary_fd = -1;
	}
	if (res != CONF_SKIP) {
		char first[sizeof(c->reason)];
		snprintf(first, sizeof(first), "%s", c->reason);
		if (post_check(c, st) != CONF_PASS) {
			char after[sizeof(c->reason)];
			snprintf(after, sizeof(after), "%s", c->reason);
			if (res == CONF_FAIL)
				(void)conf_fail(c, "%s; afterwards: %s", first, after);
			else
				(void)conf_fail(c, "afterwards: %s", after);
			res = CONF_FAIL;
			if (st->unreachable)
				snprintf(st->lost_after, sizeof(st->lost_after), "%s", cc->name);
		} else {
			snprintf(c->reason, sizeof(c->reason), "%s", first);
		}
	}
	report(c, st, cc->name, res);
}

static bool selected(const char *name, const char *const *filters, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(filters[i], name, 0) == 0)
			return true;
	return false;
}

int conf_run(struct probe_ctx *ctx, const char *const *filters, size_t nfilters, bool list,
	     int settle_ms)
{
	const struct {
		const struct conf_case *cases;
		size_t n;
	} tables[] = {
	    {conf_flow_cases, conf_flow_ncases},
	    {conf_proto_cases, conf_proto_ncases},
	    {conf_ring_cases, conf_ring_ncases},
	    {conf_hostile_cases, conf_hostile_ncases},
	    {ctx->device->cases, ctx->device->ncases},
	};
	struct conf_ctx c = {.probe = ctx, .settle_ms = settle_ms, .canary_fd = -1};
	struct run_state st = {0};
	static const struct conf_case baseline = {.name = "baseline"};

	if (list) {
		for (size_t t = 0; t < VT_ARRAY_SIZE(tables); t++)
			for (size_t i = 0; i < tables[t].n; i++)
				if (selected(tables[t].cases[i].name, filters, nfilters))
					fprintf(ctx->out, "%-44s %s\n", tables[t].cases[i].name,
						tables[t].cases[i].summary);
		return 0;
	}
	if (ctx->json)
		st.results = json_object_new_array();

	/* Before anything hostile: the back-end must pass the sanity check at all. */
	reset_ctx(&c, &baseline);
	enum conf_result base = post_check(&c, &st);
	report(&c, &st, "baseline", base);
	if (base == CONF_PASS) {
		for (size_t t = 0; t < VT_ARRAY_SIZE(tables); t++)
			for (size_t i = 0; i < tables[t].n; i++)
				if (selected(tables[t].cases[i].name, filters, nfilters))
					run_case(&c, &st, &tables[t].cases[i]);
	}

	if (st.results) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "device", json_object_new_string(ctx->device->name));
		json_object_object_add(o, "cases", st.results);
		json_object_object_add(o, "passed", json_object_new_int((int)st.passed));
		json_object_object_add(o, "failed", json_object_new_int((int)st.failed));
		json_object_object_add(o, "skipped", json_object_new_int((int)st.skipped));
		fprintf(ctx->out, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		fprintf(ctx->out, "refusals: %u nack, %u closed, %u silent; %u skipped\n", st.nack,
			st.closed, st.silent, st.skipped);
		fprintf(ctx->out, "%u passed, %u failed\n", st.passed, st.failed);
	}
	return st.failed ? 1 : 0;
}
