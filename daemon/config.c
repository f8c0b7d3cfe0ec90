/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: an INI file parsed by libinih plus the command line.
 *
 *   [daemon]            daemon keys (run_dir, state_dir, control_socket, user, seccomp, ...)
 *   [device NAME]       one device instance: type = rng|crypto|rpmb|null, socket, socket_mode,
 *                       socket_owner, socket_group, busy_poll_us; every other key is a device
 *                       option handed to the device type (which rejects keys it does not know)
 *
 * The command line overrides the file: daemon keys by their --options, instances with
 * --device NAME:TYPE[,KEY=VALUE...] (which adds to or amends [device NAME]).
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pollwin.h"
#include "vtrustd.h"

void vtd_buf_append(struct vtd_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void vtd_buf_printf(struct vtd_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		vtd_buf_append(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	vtd_buf_append(b, big, (size_t)n);
	free(big);
}

void vtd_buf_free(struct vtd_buf *b)
{
	free(b->data);
	*b = (struct vtd_buf){0};
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		vt_err("out of memory");
		abort();
	}
	return d;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

void vtd_config_init(struct vtd_config *c)
{
	*c = (struct vtd_config){
		.control_mode = 0600,
		.control_gid = (gid_t)-1,
		.socket_gid = (gid_t)-1,
		.user_uid = (uid_t)-1,
		.user_gid = (gid_t)-1,
		/* Enforced by default: a syscall outside the allow-lists fails with EPERM and one
		 * log line (trap). Sanitizer builds keep "log": LeakSanitizer's exit-time scan
		 * (ptrace, /proc) is exactly what the filters refuse. */
#ifdef VTRUSTD_SANITIZED
		.seccomp = VTD_SECCOMP_LOG,
#else
		.seccomp = VTD_SECCOMP_TRAP,
#endif
		.control_max_request = 1u << 20,
		.control_max_clients = 16,
		.prefault_mb = VT_PREFAULT_TABLE_DEFAULT >> 20,
		.stop_timeout = 30,
		.prefault_total_mb = VT_PREFAULT_PROCESS_DEFAULT >> 20,
		.print_attach = true,
		.busy_poll_us = VT_POLLWIN_DEFAULT_US,
	};
}

static void instance_free(struct vtd_instance *in)
{
	for (unsigned i = 0; i < in->nopts; i++) {
		free((void *)(uintptr_t)in->opts[i].key);
		free((void *)(uintptr_t)in->opts[i].value);
		free((void *)(uintptr_t)in->opts[i].origin);
	}
	free(in->opts);
	free(in);
}

void vtd_config_free(struct vtd_config *c)
{
	for (unsigned i = 0; i < c->ninst; i++)
		instance_free(c->inst[i]);
	free(c->config_file);
	free(c->run_dir);
	free(c->state_dir);
	free(c->control_socket);
	free(c->user);
	free(c->metrics_http);
	free(c->log_path);
	*c = (struct vtd_config){0};
}

int vtd_config_apply_log(const struct vtd_config *c)
{
	if (!c->log_target_set)
		return 0;
	const char *path = c->log_target == VT_LOG_TARGET_FILE ? c->log_path : NULL;
	int r = vt_log_set_target(c->log_target, path);
	if (r < 0)
		vt_err("cannot log to %s%s: %s (fix log_target or --log-target)",
		       path ? "file " : "the journal", path ? path : "", strerror(-r));
	return r;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= VTD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  (i > 0 && (ch == '_' || ch == '-' || ch == '.'));
		if (!ok)
			return false;
	}
	return true;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	errno = 0;
	if (*v < '0' || *v > '9')
		return -EINVAL; /* strtoull would take blanks, '+' and '-' (wrapping) */
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*ret = x;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

int vtd_parse_mode(const char *s, mode_t *ret)
{
	/* Octal with a leading 0, e.g. 0660 (not "0x1b6", which strtoull would take). */
	if (s[0] != '0' || strspn(s, "01234567") != strlen(s))
		return -EINVAL;
	errno = 0;
	unsigned long m = strtoul(s, NULL, 8);
	if (errno || m > 0777)
		return -EINVAL;
	*ret = (mode_t)m;
	return 0;
}

static const char *const seccomp_names[] = {
	[VTD_SECCOMP_OFF] = "off",     [VTD_SECCOMP_LOG] = "log",   [VTD_SECCOMP_ERRNO] = "errno",
	[VTD_SECCOMP_TRAP] = "trap",   [VTD_SECCOMP_KILL] = "kill",
};

int vtd_parse_seccomp(const char *s, enum vtd_seccomp_action *ret)
{
	for (unsigned i = 0; i < sizeof(seccomp_names) / sizeof(seccomp_names[0]); i++) {
		if (!strcmp(s, seccomp_names[i])) {
			*ret = (enum vtd_seccomp_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *vtd_seccomp_name(enum vtd_seccomp_action a)
{
	return seccomp_names[a];
}

/*
 * Where the key being set comes from, for error lines: "FILE:LINE" while a file is read,
 * NULL for the command line. Configuration is read once, on the main thread.
 */
static const char *g_origin;
static const char *g_section; /* "daemon", "device NAME" or NULL */

/* One error line: "FILE:LINE: [SECTION] KEY = VALUE: REASON (valid: ...)". */
static void cfg_err(const char *key, const char *value, const char *reason, const char *valid)
{
	char where[300];
	if (g_origin)
		snprintf(where, sizeof(where), "%s: [%s] ", g_origin, g_section ? g_section : "?");
	else
		snprintf(where, sizeof(where), "command line: ");
	if (key && value)
		vt_err("%s%s = %s: %s%s%s%s", where, key, value, reason, valid ? " (valid: " : "",
		       valid ? valid : "", valid ? ")" : "");
	else
		vt_err("%s%s%s%s%s", where, reason, valid ? " (valid: " : "", valid ? valid : "",
		       valid ? ")" : "");
}

/* Keys are spelled with '_'; '-' is accepted in their place. */
static void canonical_key(const char *key, char *out, size_t n)
{
	size_t i = 0;
	for (; key[i] && i + 1 < n; i++)
		out[i] = key[i] == '-' ? '_' : key[i];
	out[i] = '\0';
	if (!strcmp(out, "socket_path"))
		snprintf(out, n, "socket");
}

#define BOOL_VALUES "true, false, yes, no, on, off, 1, 0"
#define MODE_VALUES "an octal mode with a leading 0, e.g. 0660"

int vtd_config_set_daemon(struct vtd_config *c, const char *given_key, const char *v)
{
	char key[64];
	canonical_key(given_key, key, sizeof(key));
	uint64_t u;
	const char *valid = NULL;
	if (!strcmp(key, "run_dir")) {
		valid = "a directory";
		if (!*v)
			goto bad; /* else sockets would go to /NAME.sock */
		set_str(&c->run_dir, v);
	} else if (!strcmp(key, "state_dir")) {
		valid = "a directory";
		if (!*v)
			goto bad;
		set_str(&c->state_dir, v);
	} else if (!strcmp(key, "control_socket")) {
		set_str(&c->control_socket, v);
	} else if (!strcmp(key, "control_mode")) {
		valid = MODE_VALUES;
		if (vtd_parse_mode(v, &c->control_mode) < 0)
			goto bad;
	} else if (!strcmp(key, "socket_mode")) {
		valid = MODE_VALUES;
		if (vtd_parse_mode(v, &c->socket_mode) < 0)
			goto bad;
		c->socket_mode_set = true;
	} else if (!strcmp(key, "socket_group")) {
		valid = "a group of this system";
		if (vtd_sandbox_resolve_group(v, &c->socket_gid) < 0)
			goto bad;
	} else if (!strcmp(key, "control_group")) {
		valid = "a group of this system";
		if (vtd_sandbox_resolve_group(v, &c->control_gid) < 0)
			goto bad;
	} else if (!strcmp(key, "user")) {
		valid = "a user of this system";
		if (vtd_sandbox_resolve_user(v, &c->user_uid, &c->user_gid) < 0)
			goto bad;
		set_str(&c->user, v);
	} else if (!strcmp(key, "seccomp")) {
		valid = "kill, trap, errno, log, off";
		if (vtd_parse_seccomp(v, &c->seccomp) < 0)
			goto bad;
	} else if (!strcmp(key, "metrics_http")) {
		if (!*v || !strcmp(v, "off") || !strcmp(v, "none")) {
			free(c->metrics_http);
			c->metrics_http = NULL;
		} else {
			set_str(&c->metrics_http, v);
		}
	} else if (!strcmp(key, "busy_poll_us")) {
		valid = "0..1000000";
		if (parse_u64(v, 0, 1000000, &u) < 0)
			goto bad;
		c->busy_poll_us = (uint32_t)u;
	} else if (!strcmp(key, "bench_no_work")) {
		valid = BOOL_VALUES;
		if (parse_bool(v, &c->bench_no_work) < 0)
			goto bad;
	} else if (!strcmp(key, "stop_timeout")) {
		valid = "1..3600";
		if (parse_u64(v, 1, 3600, &u) < 0)
			goto bad;
		c->stop_timeout = (unsigned)u;
	} else if (!strcmp(key, "prefault_mb")) {
		valid = "0..1073741824";
		if (parse_u64(v, 0, 1ull << 30, &u) < 0)
			goto bad;
		c->prefault_mb = u;
	} else if (!strcmp(key, "prefault_total_mb")) {
		valid = "0..1073741824";
		if (parse_u64(v, 0, 1ull << 30, &u) < 0)
			goto bad;
		c->prefault_total_mb = u;
	} else if (!strcmp(key, "control_max_request")) {
		valid = "1024..67108864";
		if (parse_u64(v, 1024, 64u << 20, &u) < 0)
			goto bad;
		c->control_max_request = (size_t)u;
	} else if (!strcmp(key, "control_max_clients")) {
		valid = "1..1024";
		if (parse_u64(v, 1, 1024, &u) < 0)
			goto bad;
		c->control_max_clients = (unsigned)u;
	} else if (!strcmp(key, "debug_commands")) {
		valid = BOOL_VALUES;
		if (parse_bool(v, &c->debug_commands) < 0)
			goto bad;
	} else if (!strcmp(key, "print_attach")) {
		valid = BOOL_VALUES;
		if (parse_bool(v, &c->print_attach) < 0)
			goto bad;
	} else if (!strcmp(key, "log_level")) {
		valid = "err, warning, notice, info, debug";
		enum vt_log_level lvl;
		if (vt_log_parse_level(v, &lvl) < 0)
			goto bad;
		vt_log_set_level(lvl);
	} else if (!strcmp(key, "log_target")) {
		/* Only recorded: vtd_config_apply_log switches once the configuration is read, so
		 * every configuration error (and --check-config) goes to stderr, and checking a
		 * file creates no log file. */
#ifdef VT_HAVE_SYSTEMD
		valid = "stderr, journal, file:PATH";
#else
		valid = "stderr, file:PATH (built without libsystemd: no journal)";
#endif
		if (!strcmp(v, "stderr")) {
			c->log_target = VT_LOG_TARGET_STDERR;
		} else if (!strcmp(v, "journal")) {
#ifndef VT_HAVE_SYSTEMD
			goto bad;
#endif
			c->log_target = VT_LOG_TARGET_JOURNAL;
		} else if (!strncmp(v, "file:", 5) && v[5] && strlen(v + 5) < 4096) {
			c->log_target = VT_LOG_TARGET_FILE;
			set_str(&c->log_path, v + 5);
		} else {
			goto bad;
		}
		c->log_target_set = true;
	} else {
		char why[128];
		snprintf(why, sizeof(why), "unknown daemon option '%s'", given_key);
		cfg_err(NULL, NULL, why,
			"run_dir, state_dir, control_socket, control_mode, control_group, "
			"control_max_request, control_max_clients, socket_mode, socket_group, user, "
			"seccomp, metrics_http, busy_poll_us, stop_timeout, prefault_mb, "
			"prefault_total_mb, log_level, log_target, print_attach, debug_commands, "
			"bench_no_work");
		return -EINVAL;
	}
	return 0;
bad:
	cfg_err(key, v, "invalid value", valid);
	return -EINVAL;
}

struct vtd_instance *vtd_config_instance(struct vtd_config *c, const char *name)
{
	if (!valid_name(name)) {
		char why[VTD_NAME_MAX + 200];
		snprintf(why, sizeof(why),
			 "invalid device name '%.*s' (letters, digits, '_', '-', '.'; at most %d)",
			 VTD_NAME_MAX + 8, name, VTD_NAME_MAX - 1);
		cfg_err(NULL, NULL, why, NULL);
		return NULL;
	}
	for (unsigned i = 0; i < c->ninst; i++)
		if (!strcmp(c->inst[i]->name, name))
			return c->inst[i];
	if (c->ninst >= VTD_MAX_INSTANCES) {
		char why[96];
		snprintf(why, sizeof(why),
			 "too many devices: at most %d (serve more from a second vtrustd)",
			 VTD_MAX_INSTANCES);
		cfg_err(NULL, NULL, why, NULL);
		return NULL;
	}
	struct vtd_instance *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	snprintf(in->name, sizeof(in->name), "%s", name);
	in->fd = -1;
	in->socket_mode = 0600;
	in->socket_uid = (uid_t)-1;
	in->socket_gid = (gid_t)-1;
	c->inst[c->ninst++] = in;
	return in;
}

static int add_opt(struct vtd_instance *in, const char *key, const char *value)
{
	if (in->nopts == in->opts_cap) {
		unsigned cap = in->opts_cap ? in->opts_cap * 2 : 8;
		if (cap > 256) {
			cfg_err(key, value, "too many options for one device (at most 256)", NULL);
			return -E2BIG;
		}
		struct vt_devopt *o = realloc(in->opts, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		in->opts = o;
		in->opts_cap = cap;
	}
	in->opts[in->nopts].key = xstrdup(key);
	in->opts[in->nopts].value = xstrdup(value);
	in->opts[in->nopts].origin = xstrdup(g_origin ? g_origin : "command line");
	in->nopts++;
	return 0;
}

static char *type_list(char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (unsigned i = 0; vt_device_types[i]; i++)
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? ", " : "",
					vt_device_types[i]->type);
	return out;
}

int vtd_config_set_instance(struct vtd_config *c, struct vtd_instance *in, const char *given_key,
			    const char *v)
{
	(void)c;
	char key[64];
	canonical_key(given_key, key, sizeof(key));
	uint64_t u;
	const char *valid = NULL;
	if (!strcmp(key, "type")) {
		in->type = vt_device_type_find(v);
		if (!in->type) {
			char types[128];
			in->type_invalid = true;
			cfg_err(key, v, "unknown device type", type_list(types, sizeof(types)));
			return -EINVAL;
		}
	} else if (!strcmp(key, "socket")) {
		if (strlen(v) >= VTD_SUN_PATH_MAX || !*v) {
			char why[96];
			snprintf(why, sizeof(why), "socket path empty or longer than %d bytes",
				 VTD_SUN_PATH_MAX - 1);
			cfg_err(key, v, why, NULL);
			return -ENAMETOOLONG;
		}
		snprintf(in->socket_path, sizeof(in->socket_path), "%s", v);
	} else if (!strcmp(key, "socket_mode")) {
		valid = MODE_VALUES;
		if (vtd_parse_mode(v, &in->socket_mode) < 0)
			goto bad;
		in->socket_mode_set = true;
	} else if (!strcmp(key, "socket_owner")) {
		valid = "a user of this system";
		gid_t unused;
		if (vtd_sandbox_resolve_user(v, &in->socket_uid, &unused) < 0)
			goto bad;
	} else if (!strcmp(key, "socket_group")) {
		valid = "a group of this system";
		if (vtd_sandbox_resolve_group(v, &in->socket_gid) < 0)
			goto bad;
	} else if (!strcmp(key, "busy_poll_us")) {
		valid = "0..1000000";
		if (parse_u64(v, 0, 1000000, &u) < 0)
			goto bad;
		in->busy_poll_us = (uint32_t)u;
		in->busy_poll_set = true;
	} else {
		return add_opt(in, given_key, v);
	}
	return 0;
bad:
	cfg_err(key, v, "invalid value", valid);
	return -EINVAL;
}

/* A key seen in a section of the file being read (duplicates are errors). */
struct seen_key {
	char section[VTD_NAME_MAX + 8];
	char key[64];
	int line;
};

struct ini_ctx {
	struct vtd_config *c;
	const char *where; /* file name */
	/* The reader counts lines, so the handler knows the line of each key. */
	FILE *f;
	int line;
	int errors;
	int read_error; /* errno of a failed read */
	bool skip_keys; /* under a [section] header that was refused */
	struct seen_key *seen;
	unsigned nseen, seen_cap;
};

/* libinih keeps 49 bytes of a section name (its MAX_SECTION) and drops the rest. */
#define INI_SECTION_MAX 50

/*
 * inih's find_chars_or_comment: the first of chars, or a ';' after a blank (an inline
 * comment), or the end.
 */
static const char *find_or_comment(const char *s, const char *chars)
{
	bool was_blank = false;
	for (; *s && !strchr(chars, *s) && !(was_blank && *s == ';'); s++)
		was_blank = *s == ' ' || *s == '\t';
	return s;
}

/* What is wrong with one line as libinih would read it (NULL: nothing). */
static const char *line_problem(const char *l)
{
	if (!*l || *l == ';' || *l == '#')
		return NULL;
	if (*l == '[') {
		const char *end = find_or_comment(l + 1, "]");
		if (*end != ']')
			return "a [section] header without its ']': "
			       "write [daemon] or [device NAME]";
		if (end - (l + 1) >= INI_SECTION_MAX)
			return "section name longer than 49 bytes: write [daemon] or [device NAME]";
		for (end++; *end == ' ' || *end == '\t'; end++)
			;
		if (*end && *end != ';' && *end != '#')
			return "text after the [section] header: "
			       "put each KEY = VALUE on its own line";
		return NULL;
	}
	if (*find_or_comment(l, "=:") == '\0')
		return "not a KEY = VALUE line, a [section] header or a comment: write KEY = VALUE";
	return NULL;
}

/*
 * libinih's reader: one physical line per call, so x->line is the line libinih is at.
 * libinih would misread some lines silently, so they are refused here, each with one
 * line, and handed on as an empty line (reading goes on; every bad line is reported):
 *   - longer than libinih's buffer (num - 2 bytes of text): it would read the rest as
 *     the next line, a KEY = VALUE of its own (or truncate the value);
 *   - a NUL or another control byte (a tab and the CR of CRLF are fine): libinih stops
 *     at a NUL, and a lone CR (old Mac line ends) hides every line after it;
 *   - text after a [section] header: libinih drops it.
 * Lines libinih cannot parse are reported here too, so each gets its own line.
 * Leading blanks are removed (and a UTF-8 BOM on line 1): libinih would take an indented
 * line for more of the previous key's value, which no vtrustd key has.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	size_t cap = num > 2 ? (size_t)num - 2 : 0; /* bytes of text; then '\n' and NUL */
	size_t n = 0, len = 0;
	bool newline = false, lead = true, too_long = false;
	int bad = -1, ch;
	while ((ch = getc(x->f)) != EOF) {
		if (ch == '\n') {
			newline = true;
			break;
		}
		len++;
		if (ch == '\r') {
			int next = getc(x->f);
			if (next == '\n') {
				newline = true;
				break;
			}
			if (next == EOF)
				break;
			ungetc(next, x->f);
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			if (bad < 0)
				bad = ch;
			continue;
		}
		if (lead && (ch == ' ' || ch == '\t'))
			continue;
		lead = false;
		if (n < cap)
			str[n++] = (char)ch;
		else
			too_long = true;
	}
	if (ferror(x->f)) {
		x->read_error = errno ? errno : EIO;
		return NULL;
	}
	if (!newline && !len)
		return NULL;
	x->line++;
	str[n] = '\0';
	if (x->line == 1 && n >= 3 && !strncmp(str, "\xef\xbb\xbf", 3)) {
		size_t skip = 3;
		while (skip < n && (str[skip] == ' ' || str[skip] == '\t'))
			skip++;
		memmove(str, str + skip, n - skip + 1);
		n -= skip;
	}
	const char *why = NULL;
	char buf[96];
	if (bad == '\r') {
		why = "a carriage return inside the line: "
		      "save the file with LF (or CRLF) line ends";
	} else if (bad >= 0) {
		snprintf(buf, sizeof(buf),
			 "control byte 0x%02x in the line: save the file as plain text", bad);
		why = buf;
	} else if (too_long) {
		snprintf(buf, sizeof(buf),
			 "line longer than %zu bytes: shorten it (e.g. a shorter path)", cap);
		why = buf;
	} else {
		why = line_problem(str);
	}
	if (why) {
		vt_err("%s:%d: %s", x->where, x->line, why);
		x->errors++;
	}
	/* Keys under a header that was refused belong to no section we know: skipped, not
	 * charged to the section before it (the header's error line says it all). */
	if (n && str[0] == '[')
		x->skip_keys = why != NULL;
	if (why)
		n = 0;
	if (newline)
		str[n++] = '\n';
	str[n] = '\0';
	return str;
}

static bool duplicate(struct ini_ctx *x, const char *section, const char *key)
{
	char ck[64];
	canonical_key(key, ck, sizeof(ck));
	for (unsigned i = 0; i < x->nseen; i++) {
		if (!strcmp(x->seen[i].section, section) && !strcmp(x->seen[i].key, ck)) {
			char why[160];
			snprintf(why, sizeof(why), "duplicate key '%s' (first set at line %d)", key,
				 x->seen[i].line);
			cfg_err(NULL, NULL, why, NULL);
			return true;
		}
	}
	if (x->nseen == x->seen_cap) {
		unsigned cap = x->seen_cap ? x->seen_cap * 2 : 32;
		struct seen_key *n = realloc(x->seen, cap * sizeof(*n));
		if (!n)
			return false;
		x->seen = n;
		x->seen_cap = cap;
	}
	struct seen_key *k = &x->seen[x->nseen++];
	snprintf(k->section, sizeof(k->section), "%s", section);
	snprintf(k->key, sizeof(k->key), "%s", ck);
	k->line = x->line;
	return false;
}

/* Every key: set it, or report one line; reading goes on so every error is reported. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	if (x->skip_keys)
		return 1;
	char origin[512];
	snprintf(origin, sizeof(origin), "%s:%d", x->where, x->line);
	g_origin = origin;
	g_section = section;
	int r = 0;
	struct vtd_instance *in = NULL;
	char canon[VTD_NAME_MAX + 8]; /* the section as duplicates are found: "device NAME" */
	if (!strcmp(section, "daemon")) {
		snprintf(canon, sizeof(canon), "daemon");
	} else if (!strncmp(section, "device ", 7)) {
		const char *dev = section + 7;
		while (*dev == ' ')
			dev++;
		in = vtd_config_instance(x->c, dev);
		if (!in)
			r = -EINVAL;
		else
			snprintf(canon, sizeof(canon), "device %s", in->name);
	} else {
		cfg_err(NULL, NULL, "unknown section", "[daemon], [device NAME]");
		r = -EINVAL;
	}
	if (r == 0 && duplicate(x, canon, name))
		r = -EINVAL;
	else if (r == 0)
		r = in ? vtd_config_set_instance(x->c, in, name, value)
		       : vtd_config_set_daemon(x->c, name, value);
	g_origin = NULL;
	g_section = NULL;
	x->errors += r < 0;
	return 1;
}

static int load(struct ini_ctx *x)
{
	int r = ini_parse_stream(read_line, x, on_ini, x);
	free(x->seen);
	if (x->read_error) {
		vt_err("%s:%d: cannot read the configuration: %s", x->where, x->line + 1,
		       strerror(x->read_error));
		return -EINVAL;
	}
	if (r > 0) {
		/* A line libinih refused that read_line let through (it reports its own). */
		vt_err("%s:%d: not a KEY = VALUE line, a [section] header or a comment", x->where, r);
		return -EINVAL;
	}
	if (r < 0) {
		vt_err("%s: cannot read the configuration: out of memory", x->where);
		return -ENOMEM;
	}
	return x->errors ? -EINVAL : 0;
}

int vtd_config_load_stream(struct vtd_config *c, FILE *f, const char *where)
{
	struct ini_ctx x = {.c = c, .where = where, .f = f};
	return load(&x);
}

int vtd_config_load_file(struct vtd_config *c, const char *path)
{
	set_str(&c->config_file, path);
	FILE *f = fopen(path, "re");
	if (!f) {
		vt_err("%s: cannot read the configuration: %s", path, strerror(errno));
		return -EINVAL;
	}
	int r = vtd_config_load_stream(c, f, path);
	fclose(f);
	return r;
}

int vtd_config_parse_device_arg(struct vtd_config *c, const char *spec)
{
	char *s = xstrdup(spec);
	int r = -EINVAL;
	char *save = NULL;
	char *head = strtok_r(s, ",", &save);
	if (!head) {
		vt_err("--device expects NAME[:TYPE][,KEY=VALUE]...");
		goto out;
	}
	char *colon = strchr(head, ':');
	if (colon)
		*colon = '\0';
	struct vtd_instance *in = vtd_config_instance(c, head);
	if (!in)
		goto out;
	if (colon && vtd_config_set_instance(c, in, "type", colon + 1) < 0)
		goto out;
	char seen[32][64];
	unsigned nseen = 0;
	for (char *kv; (kv = strtok_r(NULL, ",", &save));) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			vt_err("--device %s: '%s' is not KEY=VALUE", head, kv);
			goto out;
		}
		*eq = '\0';
		char ck[64];
		canonical_key(kv, ck, sizeof(ck));
		for (unsigned i = 0; i < nseen; i++) {
			if (!strcmp(seen[i], ck)) {
				vt_err("--device %s: duplicate key '%s'", head, kv);
				goto out;
			}
		}
		if (nseen == 32) { /* else a duplicate past the 32nd would go unnoticed */
			vt_err("--device %s: more than 32 options (put the device in the file)", head);
			goto out;
		}
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", ck);
		if (vtd_config_set_instance(c, in, kv, eq + 1) < 0)
			goto out;
	}
	r = 0;
out:
	free(s);
	return r;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int vtd_config_finish(struct vtd_config *c)
{
	if (!c->single) {
		if (!c->run_dir) {
			const char *e = getenv("RUNTIME_DIRECTORY"); /* systemd RuntimeDirectory= */
			set_str(&c->run_dir, e && *e ? e : "/run/vtrust");
		}
		if (!c->state_dir) {
			const char *e = getenv("STATE_DIRECTORY"); /* systemd StateDirectory= */
			set_str(&c->state_dir, e && *e ? e : "/var/lib/vtrust");
		}
		if (!c->control_socket) {
			char *p = path_join(c->run_dir, "control.sock");
			c->control_socket = p;
		}
		if (c->ninst == 0) {
			/* No configuration: one device of every real type. */
			for (unsigned i = 0; vt_device_types[i]; i++) {
				if (!strcmp(vt_device_types[i]->type, "null"))
					continue;
				char name[VTD_NAME_MAX];
				snprintf(name, sizeof(name), "%s0", vt_device_types[i]->type);
				struct vtd_instance *in = vtd_config_instance(c, name);
				if (!in)
					return -EINVAL;
				in->type = vt_device_types[i];
			}
			if (c->ninst == 0) {
				vt_err("no device types are built in");
				return -EINVAL;
			}
		}
	}
	if (c->single && !c->state_dir) {
		/* A backend program gets a state directory from systemd (StateDirectory=) or --state-dir. */
		const char *e = getenv("STATE_DIRECTORY");
		if (e && *e)
			set_str(&c->state_dir, e);
	}
	if (c->control_socket && (!strcmp(c->control_socket, "none") || !*c->control_socket)) {
		free(c->control_socket);
		c->control_socket = NULL;
	}
	if (c->control_socket && strlen(c->control_socket) >= VTD_SUN_PATH_MAX) {
		vt_err("control socket path %s is longer than %d bytes", c->control_socket,
		       VTD_SUN_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vtd_instance *in = c->inst[i];
		if (!in->type) {
			char types[128];
			if (!in->type_invalid) /* else its type line was reported already */
				vt_err("%s: no device type (valid: type = %s)", in->name,
				       type_list(types, sizeof(types)));
			return -EINVAL;
		}
		if (!in->socket_path[0] && in->fd < 0) {
			if (!c->run_dir) {
				vt_err("%s: no socket path", in->name);
				return -EINVAL;
			}
			int n = snprintf(in->socket_path, sizeof(in->socket_path), "%s/%s.sock",
					 c->run_dir, in->name);
			if (n < 0 || (size_t)n >= sizeof(in->socket_path)) {
				vt_err("%s: socket path under %s is longer than %d bytes", in->name,
				       c->run_dir, VTD_SUN_PATH_MAX - 1);
				return -ENAMETOOLONG;
			}
		}
		for (unsigned j = 0; j < i; j++) {
			if (in->socket_path[0] && !strcmp(in->socket_path, c->inst[j]->socket_path)) {
				vt_err("%s and %s share the socket %s", c->inst[j]->name, in->name,
				       in->socket_path);
				return -EINVAL;
			}
		}
		if (!in->busy_poll_set)
			in->busy_poll_us = c->busy_poll_us;
		in->bench_no_work = c->bench_no_work;
		if (!in->socket_mode_set && c->socket_mode_set)
			in->socket_mode = c->socket_mode;
		if (in->socket_gid == (gid_t)-1)
			in->socket_gid = c->socket_gid;
		in->cfg = (struct vt_devcfg){
			.name = in->name,
			.type = in->type->type,
			.state_dir = c->state_dir,
			.opts = in->opts,
			.nopts = in->nopts,
		};
	}
	/* Every option of every device, before anything is created (--check-config too). */
	int bad = 0;
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vtd_instance *in = c->inst[i];
		if (in->type->check && in->type->check(&in->cfg) < 0)
			bad++;
	}
	return bad ? -EINVAL : 0;
}
