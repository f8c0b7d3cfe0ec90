/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) of every instance: core
 * counters (vhost-user messages and connections; per queue requests, bytes,
 * malformed requests, broken rings, kicks and notifications) plus each device
 * type's own `metrics` hook. Samples are gathered first and grouped by metric
 * name, so every family has one HELP and one TYPE line however many
 * instances report it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "vtrustd.h"

struct sample {
	char family[96]; /* name, or a histogram's name without _bucket/_sum/_count */
	char name[96];
	char labels[320];
	double value;
	const char *help;
	const char *type;
	unsigned seq;
};

struct collector {
	struct sample *s;
	unsigned n, cap;
	const struct vtd_instance *in; /* instance being collected */
	bool oom;
};

static bool valid_metric_name(const char *n)
{
	if (!*n)
		return false;
	for (const char *p = n; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			  *p == ':' || (p != n && *p >= '0' && *p <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* `k="v",k2="v2"` with label names [a-zA-Z_][a-zA-Z0-9_]* and escaped values. */
static bool valid_labels(const char *l)
{
	const char *p = l;
	while (*p) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
			return false;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		       (*p >= '0' && *p <= '9'))
			p++;
		if (p[0] != '=' || p[1] != '"')
			return false;
		p += 2;
		while (*p && *p != '"') {
			if (*p == '\n')
				return false;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return false;
				p++;
			}
			p++;
		}
		if (*p != '"')
			return false;
		p++;
		if (*p == ',')
			p++;
		else if (*p)
			return false;
	}
	return true;
}

static void add(struct collector *c, const char *name, const char *labels, double value,
		const char *help, const char *type)
{
	if (c->oom)
		return;
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 64;
		struct sample *s = realloc(c->s, cap * sizeof(*s));
		if (!s) {
			c->oom = true;
			return;
		}
		c->s = s;
		c->cap = cap;
	}
	struct sample *s = &c->s[c->n];
	const char *prefix = strncmp(name, "vtrust_", 7) ? "vtrust_" : "";
	int n = snprintf(s->name, sizeof(s->name), "%s%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(s->name) || !valid_metric_name(s->name)) {
		vt_debug("%s: metric name '%s' dropped (invalid)", c->in ? c->in->name : "daemon", name);
		return;
	}
	if (labels && *labels && !valid_labels(labels)) {
		vt_debug("%s: metric %s dropped: invalid labels", c->in ? c->in->name : "daemon", name);
		return;
	}
	if (c->in)
		n = snprintf(s->labels, sizeof(s->labels), "device=\"%s\",device_type=\"%s\"%s%s",
			     c->in->name, c->in->type->type, labels && *labels ? "," : "",
			     labels ? labels : "");
	else /* daemon-wide */
		n = snprintf(s->labels, sizeof(s->labels), "%s", labels ? labels : "");
	if (n < 0 || (size_t)n >= sizeof(s->labels))
		return;
	s->value = value;
	s->help = help ? help : "";
	s->type = type && (!strcmp(type, "counter") || !strcmp(type, "gauge") ||
			   !strcmp(type, "histogram"))
			  ? type
			  : "untyped";
	snprintf(s->family, sizeof(s->family), "%s", s->name);
	if (!strcmp(s->type, "histogram")) {
		/* name_bucket{le=...}, name_sum, name_count: one family "name". */
		static const char *const suffix[] = {"_bucket", "_sum", "_count"};
		size_t len = strlen(s->family);
		for (unsigned i = 0; i < 3; i++) {
			size_t sl = strlen(suffix[i]);
			if (len > sl && !strcmp(s->family + len - sl, suffix[i])) {
				s->family[len - sl] = '\0';
				break;
			}
		}
	}
	s->seq = c->n;
	c->n++;
}

static void hook_cb(void *ctx, const char *name, const char *labels, double value,
		    const char *help, const char *type)
{
	if (!name)
		return;
	add(ctx, name, labels, value, help, type);
}

static int by_name(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int r = strcmp(x->family, y->family);
	if (r)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void put_value(struct vtd_buf *out, double v)
{
	if (isnan(v))
		vtd_buf_printf(out, "NaN\n");
	else if (isinf(v))
		vtd_buf_printf(out, "%sInf\n", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		vtd_buf_printf(out, "%.0f\n", v);
	else
		vtd_buf_printf(out, "%.17g\n", v);
}

static void put_help(struct vtd_buf *out, const char *name, const char *help)
{
	vtd_buf_printf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			vtd_buf_append(out, "\\\\", 2);
		else if (*p == '\n')
			vtd_buf_append(out, "\\n", 2);
		else
			vtd_buf_append(out, p, 1);
	}
	vtd_buf_append(out, "\n", 1);
}

static uint64_t ld(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void core_metrics(struct collector *c, struct vtd_instance *in)
{
	int st = atomic_load(&in->state);
	add(c, "device_up", "", st == VTD_INST_RUNNING ? 1 : 0,
	    "1 while the device's protocol thread serves its socket", "gauge");
	if (!in->dev)
		return;
	struct vt_device *d = in->dev;
	add(c, "vhost_connections_total", "", (double)ld(&d->stats.connections),
	    "vhost-user front-end connections accepted", "counter");
	add(c, "vhost_connected", "", atomic_load(&d->stats.connected) ? 1 : 0,
	    "1 while a front-end (a VM) is attached to the device", "gauge");
	add(c, "vhost_messages_total", "", (double)ld(&d->stats.messages),
	    "vhost-user messages received", "counter");
	add(c, "vhost_bad_messages_total", "", (double)ld(&d->stats.bad_messages),
	    "vhost-user messages rejected as malformed", "counter");
	for (unsigned r = VT_REJECT_NONE + 1; r < VT_REJECT_MAX; r++) {
		uint64_t n = ld(&d->stats.rejected[r]);
		if (!n)
			continue; /* only reasons that happened */
		char lr[64];
		snprintf(lr, sizeof(lr), "reason=\"%s\"", vt_msg_reject_label((enum vt_msg_reject)r));
		add(c, "vhost_rejected_messages_total", lr, (double)n,
		    "vhost-user messages the request table refused, by rule", "counter");
	}
	for (unsigned i = 0; i < d->nqueues; i++) {
		const struct vt_queue_stats *s = vt_queue_stats(vt_device_queue(d, i));
		char q[32];
		snprintf(q, sizeof(q), "queue=\"%u\"", i);
		add(c, "requests_total", q, (double)ld(&s->chains),
		    "requests (descriptor chains) taken from the queue", "counter");
		add(c, "bytes_total", q, (double)ld(&s->used_bytes),
		    "bytes written to guest buffers (used lengths)", "counter");
		add(c, "malformed_requests_total", q, (double)ld(&s->malformed),
		    "requests completed as malformed (used length 0)", "counter");
		add(c, "queue_broken_total", q, (double)ld(&s->broken),
		    "times the ring was marked broken", "counter");
		add(c, "polled_total", q, (double)ld(&s->polled),
		    "arrivals the adaptive poll window caught without a kick or a sleep", "counter");
		add(c, "poll_dropped_total", q, (double)ld(&s->poll_dropped),
		    "times the adaptive poll window was dropped: spinning cost more than twice a sleep",
		    "counter");
		for (unsigned f = VT_FAULT_NONE + 1; f < VT_FAULT_MAX; f++) {
			uint64_t n = ld(&s->faults[f]);
			if (!n)
				continue; /* only faults that happened: a label per kind seen */
			char qf[96];
			snprintf(qf, sizeof(qf), "queue=\"%u\",fault=\"%s\"", i,
				 vt_ring_fault_label((enum vt_ring_fault)f));
			add(c, "ring_faults_total", qf, (double)n,
			    "broken rings and malformed chains by fault", "counter");
		}
		add(c, "kicks_total", q, (double)ld(&s->kicks), "driver kicks received", "counter");
		add(c, "notifications_total", q, (double)ld(&s->notifies),
		    "used-buffer notifications sent to the driver", "counter");
	}
}

/* Daemon-wide: guest memory (pre-fault budgets, seals, contained faults). */
static void guest_memory_metrics(struct collector *c)
{
	struct vt_guestmem_stats g;
	vt_guestmem_get_stats(&g);
	c->in = NULL;
	add(c, "guest_memory_prefault_bytes", "", (double)g.prefault_bytes,
	    "guest memory pre-faulted in live mappings, all devices", "gauge");
	add(c, "guest_memory_prefault_budget_bytes", "scope=\"front_end\"",
	    (double)g.prefault_budget_table, "pre-fault budgets (prefault_mb, prefault_total_mb)",
	    "gauge");
	add(c, "guest_memory_prefault_budget_bytes", "scope=\"daemon\"",
	    (double)g.prefault_budget_process, "pre-fault budgets (prefault_mb, prefault_total_mb)",
	    "gauge");
	add(c, "guest_memory_prefault_refused_total", "", (double)g.prefault_refused,
	    "regions left partly to first-use faults because a pre-fault budget was spent",
	    "counter");
	add(c, "guest_memory_regions", "sealed=\"true\"", (double)g.regions_sealed,
	    "mapped guest memory regions, by whether F_SEAL_SHRINK protects them", "gauge");
	add(c, "guest_memory_regions", "sealed=\"false\"", (double)g.regions_unsealed,
	    "mapped guest memory regions, by whether F_SEAL_SHRINK protects them", "gauge");
	add(c, "guest_memory_faults_total", "", (double)g.faults_contained,
	    "SIGBUS in guest memory that shrank under a device, contained (rings broken)",
	    "counter");
}

void vtd_metrics_render(struct vtd_config *cfg, struct vtd_buf *out)
{
	struct collector c = {0};
	guest_memory_metrics(&c);
	for (unsigned i = 0; i < cfg->ninst; i++) {
		struct vtd_instance *in = cfg->inst[i];
		c.in = in;
		core_metrics(&c, in);
		if (in->priv && in->type->metrics)
			in->type->metrics(in->priv, hook_cb, &c);
	}
	if (c.oom) {
		out->oom = true;
		free(c.s);
		return;
	}
	qsort(c.s, c.n, sizeof(*c.s), by_name);
	/* Which vtrustd this is (Prometheus convention: an info metric with value 1). */
	vtd_buf_printf(out, "# HELP vtrust_build_info vtrustd version (always 1)\n"
			    "# TYPE vtrust_build_info gauge\n"
			    "vtrust_build_info{version=\"%s\"} 1\n",
		       VTRUST_VERSION);
	const char *last = "";
	for (unsigned i = 0; i < c.n; i++) {
		struct sample *s = &c.s[i];
		if (strcmp(s->family, last)) {
			put_help(out, s->family, s->help);
			vtd_buf_printf(out, "# TYPE %s %s\n", s->family, s->type);
			last = s->family;
		}
		vtd_buf_printf(out, "%s{%s} ", s->name, s->labels);
		put_value(out, s->value);
	}
	free(c.s);
}
