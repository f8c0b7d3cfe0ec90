/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <sys/uio.h>

#ifdef VT_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

static _Atomic int log_level = VT_LOG_INFO;
static enum vt_log_target log_target = VT_LOG_TARGET_STDERR;
static char log_path[4096];
static int log_fd = STDERR_FILENO;
static const char *log_ident = "vtrust";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[VT_LOG_ERR] = "err",   [VT_LOG_WARNING] = "warning", [VT_LOG_NOTICE] = "notice",
	[VT_LOG_INFO] = "info", [VT_LOG_DEBUG] = "debug",
};

void vt_log_set_level(enum vt_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum vt_log_level vt_log_get_level(void)
{
	return (enum vt_log_level)atomic_load(&log_level);
}

int vt_log_parse_level(const char *s, enum vt_log_level *ret)
{
	for (int i = VT_LOG_ERR; i <= VT_LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum vt_log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "error") == 0) {
		*ret = VT_LOG_ERR;
		return 0;
	}
	if (strcmp(s, "warn") == 0) {
		*ret = VT_LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

void vt_log_set_ident(const char *ident)
{
	log_ident = ident;
}

int vt_log_reopen(void)
{
	if (log_target != VT_LOG_TARGET_FILE)
		return 0;
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&log_lock);
	int old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	if (old >= 0 && old != STDERR_FILENO)
		close(old);
	return 0;
}

int vt_log_set_target(enum vt_log_target target, const char *path)
{
#ifndef VT_HAVE_SYSTEMD
	if (target == VT_LOG_TARGET_JOURNAL)
		return -EOPNOTSUPP;
#else
	if (target == VT_LOG_TARGET_JOURNAL) {
		/* No journald (a container, a chroot): every line would vanish. Say so, use stderr. */
		struct stat st;
		if (stat("/run/systemd/journal/socket", &st) < 0 || !S_ISSOCK(st.st_mode)) {
			log_target = VT_LOG_TARGET_STDERR;
			vt_warn("log target journal: no journald here (/run/systemd/journal/socket "
				"is missing): logging to stderr");
			return 0;
		}
	}
#endif
	if (target == VT_LOG_TARGET_FILE) {
		if (!path || strlen(path) >= sizeof(log_path))
			return -EINVAL;
		strcpy(log_path, path);
		log_target = target;
		return vt_log_reopen();
	}
	log_target = target;
	return 0;
}

/* Error events of this thread, counted whether or not the level lets them out. */
static _Thread_local unsigned long thread_errors;

unsigned long vt_log_errors(void)
{
	return thread_errors;
}

void vt_log(enum vt_log_level level, const char *fmt, ...)
{
	if (level == VT_LOG_ERR)
		thread_errors++;
	if ((int)level > atomic_load(&log_level))
		return;

	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One event, one line: fold embedded newlines. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

#ifdef VT_HAVE_SYSTEMD
	if (log_target == VT_LOG_TARGET_JOURNAL) {
		/* If journald went away, the line goes to stderr rather than nowhere. */
		if (sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", (int)level,
				    "SYSLOG_IDENTIFIER=%s", log_ident, NULL) >= 0)
			return;
	}
#endif
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[1200];
	int len = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n",
			   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			   tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
			   level_names[level], msg);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line)) {
		len = (int)sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	pthread_mutex_lock(&log_lock);
	ssize_t w = write(log_fd, line, (size_t)len);
	pthread_mutex_unlock(&log_lock);
	(void)w;
}
