/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for vtrustd's configuration: the input is a vtrustd.conf.
 * It is read through vtd_config_load_stream (what `vtrustd --config FILE` and
 * --check-config use, on an fmemopen stream), then vtd_config_finish checks
 * it as the start does, which hands every device option to its type's check
 * hook (rng, crypto, rpmb, null). Comment lines "#!device SPEC" are also given
 * to vtd_config_parse_device_arg (--device SPEC) and "#!single" sets the
 * --type form, so one input drives the command-line paths too.
 *
 * The log goes to a memfd and is checked after every input:
 *   - rejected (any step failed) <=> at least one "err" line;
 *   - every error line the file reader writes names the file and line ("fuzz.conf:N:");
 *   - an accepted file is plain text as vtrustd.conf(5) describes it: no line longer than
 *     CONF_LINE_MAX bytes, no NUL or other control byte (a tab, and the CR of a CRLF, are
 *     fine), no section name over 49 bytes, nothing but a comment after a [section]
 *     header (libinih would silently truncate, split or drop such lines);
 *   - an accepted configuration is usable: every device has a type, a valid name and a
 *     socket path (or an fd) that fits sun_path, no two share a socket, every option
 *     has a key and a value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "vtrustd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHERE "fuzz.conf"

static int log_memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_memfd = memfd_create("fuzz-config-log", MFD_CLOEXEC);
	if (log_memfd < 0)
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", log_memfd);
	if (vt_log_set_target(VT_LOG_TARGET_FILE, path) < 0)
		abort();
	/* Defaults the start would take from the environment: not this machine's. */
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	return 0;
}

/* The log written since offset `from` (NUL-terminated; caller frees). */
static char *log_since(off_t from)
{
	off_t end = lseek(log_memfd, 0, SEEK_END);
	if (end < from)
		abort();
	size_t n = (size_t)(end - from);
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n && pread(log_memfd, s, n, from) != (ssize_t)n)
		abort();
	s[n] = '\0';
	return s;
}

/*
 * The message of an error line ("TIME IDENT[PID] err: MSG"), or NULL. The level is the
 * word after the first "] ": a message may itself contain " err: ".
 */
static const char *error_message(const char *line)
{
	const char *p = strstr(line, "] ");
	if (!p || p > line + strcspn(line, "\n"))
		return NULL;
	return !strncmp(p + 2, "err: ", 5) ? p + 7 : NULL;
}

static unsigned count_errors(const char *log)
{
	unsigned n = 0;
	for (const char *l = log; *l; l += strcspn(l, "\n"), l += *l == '\n')
		n += error_message(l) != NULL;
	return n;
}

/* Every error line of the file reader says where: "err: fuzz.conf:LINE: ...". */
static void check_located(const char *log)
{
	for (const char *l = log; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		const char *m = error_message(l);
		if (m && (strncmp(m, WHERE ":", sizeof(WHERE)) || m[sizeof(WHERE)] < '0' ||
			  m[sizeof(WHERE)] > '9')) {
			fprintf(stderr, "config error line without FILE:LINE: %.*s\n",
				(int)strcspn(m, "\n"), m);
			abort();
		}
	}
}

/* libinih's INI_MAX_LINE (200): its buffer holds 198 bytes of text, the newline and a NUL. */
#define CONF_LINE_MAX 198

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Would vtrustd.conf(5) accept these bytes as lines of text? */
static bool plain_text(const char *p, size_t size)
{
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (p + i)) : size - i;
		const char *l = p + i;
		i += len + 1;
		if (len && l[len - 1] == '\r')
			len--;
		if (l == p && len >= 3 && !memcmp(l, "\xef\xbb\xbf", 3)) { /* BOM, line 1 */
			l += 3;
			len -= 3;
		}
		size_t lead = 0;
		while (lead < len && is_blank(l[lead]))
			lead++;
		if (len - lead > CONF_LINE_MAX)
			return false;
		for (size_t k = 0; k < len; k++)
			if (((unsigned char)l[k] < 0x20 && l[k] != '\t') || l[k] == 0x7f)
				return false;
		if (lead < len && l[lead] == '[') {
			const char *close = memchr(l + lead, ']', len - lead);
			if (!close || close - (l + lead + 1) >= 50) /* libinih keeps 49 bytes */
				return false;
			size_t k = (size_t)(close - l) + 1;
			while (k < len && is_blank(l[k]))
				k++;
			if (k < len && l[k] != ';' && l[k] != '#')
				return false;
		}
	}
	return true;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= VTD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
			    s[i]) ||
		    (i == 0 && strchr("_-.", s[i])))
			return false;
	return true;
}

static void check_usable(const struct vtd_config *c)
{
	for (unsigned i = 0; i < c->ninst; i++) {
		const struct vtd_instance *in = c->inst[i];
		if (!in->type || !valid_name(in->name) ||
		    strnlen(in->socket_path, VTD_SUN_PATH_MAX) >= VTD_SUN_PATH_MAX)
			abort();
		if (!in->socket_path[0] && in->fd < 0)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (in->socket_path[0] && !strcmp(in->socket_path, c->inst[j]->socket_path))
				abort();
		for (unsigned k = 0; k < in->nopts; k++)
			if (!in->opts[k].key || !in->opts[k].value)
				abort();
	}
	if (c->control_socket && strlen(c->control_socket) >= VTD_SUN_PATH_MAX)
		abort();
}

/* "#!device SPEC" and "#!single" lines: the command line's share of the input. */
static int command_line(struct vtd_config *c, const char *p, size_t size)
{
	int r = 0;
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(p + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (p + i)) : size - i;
		if (len >= 9 && !memcmp(p + i, "#!device ", 9)) {
			char *spec = strndup(p + i + 9, len - 9);
			if (!spec)
				abort();
			if (vtd_config_parse_device_arg(c, spec) < 0)
				r = -1;
			free(spec);
		} else if (len >= 8 && !memcmp(p + i, "#!single", 8)) {
			c->single = true;
		}
		i += len + 1;
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (log_memfd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	if (ftruncate(log_memfd, 0) < 0)
		abort();
	vt_log_set_level(VT_LOG_ERR); /* log_level in an input lasts for that input only */

	struct vtd_config c;
	vtd_config_init(&c);
	/* fmemopen refuses a zero-sized buffer on older glibc: an empty file is one byte, read. */
	static char empty[1];
	FILE *f = fmemopen(size ? (void *)(uintptr_t)data : empty, size ? size : 1, "r");
	if (!f)
		abort();
	if (!size)
		(void)fgetc(f);
	int r_load = vtd_config_load_stream(&c, f, WHERE);
	fclose(f);
	char *log = log_since(0);
	unsigned load_errors = count_errors(log);
	check_located(log);
	off_t mark = lseek(log_memfd, 0, SEEK_END);
	free(log);
	if ((r_load < 0) != (load_errors > 0)) {
		fprintf(stderr, "file reader returned %d with %u error lines\n", r_load,
			load_errors);
		abort();
	}

	int r_cmd = command_line(&c, (const char *)data, size);
	int r_finish = vtd_config_finish(&c);
	log = log_since(mark);
	unsigned later_errors = count_errors(log);
	free(log);
	if (getenv("FUZZ_CONFIG_LOG")) { /* to see why an input was rejected */
		log = log_since(0);
		fprintf(stderr, "load %d, --device %d, finish %d\n%s", r_load, r_cmd, r_finish,
			log);
		free(log);
	}
	bool rejected = r_load < 0 || r_cmd < 0 || r_finish < 0;
	if (rejected != (load_errors + later_errors > 0)) {
		fprintf(stderr, "load %d, --device %d, finish %d with %u error lines\n", r_load,
			r_cmd, r_finish, load_errors + later_errors);
		abort();
	}
	if (!rejected) {
		if (!plain_text((const char *)data, size)) {
			fprintf(stderr,
				"accepted a file vtrustd.conf(5) rejects (see plain_text)\n");
			abort();
		}
		check_usable(&c);
	}
	vtd_config_free(&c);
	return 0;
}
