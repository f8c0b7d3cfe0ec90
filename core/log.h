/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event, levels, to stderr or the systemd journal.
 * Never pass key material to these functions (scripts/lint.sh and a test
 * grep full-run logs for the keys the tests used).
 */
#ifndef VTRUST_LOG_H
#define VTRUST_LOG_H

#include <stdbool.h>

#include "compiler.h"

enum vt_log_level {
	VT_LOG_ERR = 3,
	VT_LOG_WARNING = 4,
	VT_LOG_NOTICE = 5,
	VT_LOG_INFO = 6,
	VT_LOG_DEBUG = 7,
};

enum vt_log_target {
	VT_LOG_TARGET_STDERR,
	VT_LOG_TARGET_JOURNAL,
	VT_LOG_TARGET_FILE,
};

void vt_log_set_level(enum vt_log_level level);
enum vt_log_level vt_log_get_level(void);
/* Parses "err", "warning", "notice", "info", "debug"; returns -EINVAL otherwise. */
int vt_log_parse_level(const char *s, enum vt_log_level *ret);
/* path is used for VT_LOG_TARGET_FILE; reopened by vt_log_reopen() (SIGHUP). */
int vt_log_set_target(enum vt_log_target target, const char *path);
int vt_log_reopen(void);
/* Process-wide prefix such as "vtrustd" or "vtrust-probe". */
void vt_log_set_ident(const char *ident);

void vt_log(enum vt_log_level level, const char *fmt, ...) VT_PRINTF(2, 3);
/*
 * How many error events the calling thread has logged so far. A caller that
 * adds context to a failure can tell whether the callee already said why in
 * its one line (then it adds no second line).
 */
unsigned long vt_log_errors(void);

#define vt_err(...) vt_log(VT_LOG_ERR, __VA_ARGS__)
#define vt_warn(...) vt_log(VT_LOG_WARNING, __VA_ARGS__)
#define vt_notice(...) vt_log(VT_LOG_NOTICE, __VA_ARGS__)
#define vt_info(...) vt_log(VT_LOG_INFO, __VA_ARGS__)
#define vt_debug(...)                                                                              \
	do {                                                                                       \
		if (vt_log_get_level() >= VT_LOG_DEBUG)                                            \
			vt_log(VT_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

#endif
