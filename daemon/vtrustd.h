/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vtrustd internals shared by its concept files (see daemon/README.md):
 *   attach.c    the QEMU fragment and commands printed at start
 *   config.c    config file (libinih) + command line -> struct vtd_config
 *   instance.c  one device instance: create, socket, protocol thread
 *   control.c   control socket (line-delimited JSON) and the HTTP /metrics endpoint
 *   metrics.c   Prometheus text exposition
 *   http.c      minimal loopback HTTP request parsing
 *   sandbox.c   user drop, no-new-privs, core dumps off, seccomp per thread type
 *   signals.c   SIGTERM/SIGINT/SIGHUP handling on the main thread
 */
#ifndef VTRUSTD_H
#define VTRUSTD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "log.h"
#include "registry.h"

#define VTD_MAX_INSTANCES 64
#define VTD_NAME_MAX 32
#define VTD_SUN_PATH_MAX 108

struct json_object;

/* ---- growable string (metrics text, replies) ---- */
struct vtd_buf {
	char *data;
	size_t len, cap;
	bool oom;
};
void vtd_buf_printf(struct vtd_buf *b, const char *fmt, ...) VT_PRINTF(2, 3);
void vtd_buf_append(struct vtd_buf *b, const void *p, size_t n);
void vtd_buf_free(struct vtd_buf *b);

/* ---- instances ---- */
enum vtd_instance_state {
	VTD_INST_NEW,
	VTD_INST_RUNNING,
	VTD_INST_STOPPED, /* vt_device_run returned 0 */
	VTD_INST_FAILED,  /* vt_device_run returned an error */
};

struct vtd_instance {
	char name[VTD_NAME_MAX];
	const struct vt_device_type *type;
	bool type_invalid; /* a "type =" line named no known type (already reported) */
	char socket_path[VTD_SUN_PATH_MAX];
	int fd; /* inherited (--fd, socket activation) or -1 */
	bool inherited; /* serving an inherited socket (socket_path: its bound path, if any) */
	mode_t socket_mode;
	bool socket_mode_set;
	uid_t socket_uid; /* (uid_t)-1: unchanged */
	gid_t socket_gid;
	uint32_t busy_poll_us;
	bool busy_poll_set;
	bool bench_no_work; /* benchmark floor: answer without doing the work */
	/* Device options (everything the daemon does not consume itself). */
	struct vt_devopt *opts;
	unsigned nopts, opts_cap;
	struct vt_devcfg cfg;

	void *priv;
	struct vt_device *dev;
	pthread_t thread;
	bool thread_started;
	_Atomic int state;
	_Atomic int run_error; /* negative errno from vt_device_run */
};

/* ---- configuration ---- */
enum vtd_seccomp_action {
	VTD_SECCOMP_OFF,
	VTD_SECCOMP_LOG,   /* allow, kernel logs the syscall (an explicit choice; sanitizer builds) */
	VTD_SECCOMP_ERRNO, /* fail the syscall with EPERM */
	VTD_SECCOMP_TRAP,  /* SIGSYS: vtrustd logs the syscall, which fails with EPERM (default) */
	VTD_SECCOMP_KILL,  /* kill the whole process */
};

struct vtd_config {
	char *config_file;
	char *run_dir;
	char *state_dir;
	char *control_socket; /* "" or "none": no control socket */
	mode_t control_mode;
	gid_t control_gid;
	mode_t socket_mode; /* defaults for every device socket (--socket-mode, --socket-group) */
	bool socket_mode_set;
	gid_t socket_gid;
	char *user; /* drop to this user after set-up (NULL: stay) */
	uid_t user_uid;
	gid_t user_gid;
	enum vtd_seccomp_action seccomp;
	char *metrics_http; /* "127.0.0.1:9464"; NULL: off */
	uint32_t busy_poll_us;
	bool bench_no_work; /* --bench-no-work: every device answers without working */
	uint64_t prefault_mb, prefault_total_mb; /* guest-memory pre-fault budgets */
	unsigned stop_timeout; /* seconds from a stop request to exit, whatever a device does */
	size_t control_max_request;
	unsigned control_max_clients;
	bool debug_commands;
	bool print_attach;
	bool log_target_set; /* log_target given: applied by vtd_config_apply_log */
	enum vt_log_target log_target;
	char *log_path; /* VT_LOG_TARGET_FILE */
	bool single; /* --type form: exactly one device, QEMU conventions */
	bool quiet;

	struct vtd_instance *inst[VTD_MAX_INSTANCES];
	unsigned ninst;
};

void vtd_config_init(struct vtd_config *c);
void vtd_config_free(struct vtd_config *c);
/* Parses an INI file (libinih); logs "file:line: reason" and returns -EINVAL on errors. */
int vtd_config_load_file(struct vtd_config *c, const char *path) VT_MUST_USE;
/* The same from an open stream; where names it in error lines (the fuzz harness: fmemopen). */
int vtd_config_load_stream(struct vtd_config *c, FILE *f, const char *where) VT_MUST_USE;
/* One daemon-level key (from [daemon] or the command line). */
int vtd_config_set_daemon(struct vtd_config *c, const char *key, const char *value) VT_MUST_USE;
/* Finds or adds instance `name`; NULL (logged) if the name is invalid or the table full. */
struct vtd_instance *vtd_config_instance(struct vtd_config *c, const char *name);
/* One instance key: daemon keys (type, socket, socket_mode, ...) or a device option. */
int vtd_config_set_instance(struct vtd_config *c, struct vtd_instance *in, const char *key,
			    const char *value) VT_MUST_USE;
/* "--device NAME:TYPE[,KEY=VALUE]..." */
int vtd_config_parse_device_arg(struct vtd_config *c, const char *spec) VT_MUST_USE;
/* Switches the log to the configured log_target (after --check-config's exit); logs failures. */
int vtd_config_apply_log(const struct vtd_config *c) VT_MUST_USE;
/* Fills defaults (socket paths, default device set) and checks everything. */
int vtd_config_finish(struct vtd_config *c) VT_MUST_USE;
int vtd_parse_mode(const char *s, mode_t *ret) VT_MUST_USE;
int vtd_parse_seccomp(const char *s, enum vtd_seccomp_action *ret) VT_MUST_USE;
const char *vtd_seccomp_name(enum vtd_seccomp_action a);

/* ---- instances (instance.c) ---- */
int vtd_instance_create(struct vtd_config *c, struct vtd_instance *in) VT_MUST_USE;
int vtd_instance_listen(struct vtd_instance *in) VT_MUST_USE;
int vtd_instance_start(struct vtd_instance *in, enum vtd_seccomp_action sc) VT_MUST_USE;
void vtd_instance_stop(struct vtd_instance *in);
void vtd_instance_join(struct vtd_instance *in);
/* Joins by an absolute CLOCK_REALTIME deadline: 0 or -ETIMEDOUT. */
int vtd_instance_join_until(struct vtd_instance *in, const struct timespec *deadline);
void vtd_instance_destroy(struct vtd_instance *in);
struct vtd_instance *vtd_instance_find(struct vtd_config *c, const char *name);
const char *vtd_instance_state_name(int state);

/* ---- attach hints (attach.c) ---- */
/* True if this machine can run KVM guests (/dev/kvm usable; VTRUSTD_ACCEL=kvm|tcg overrides). */
bool vtd_have_kvm(void);
/* Appends the QEMU 7.2 arguments attaching in; false (nothing appended) if 7.2 cannot. */
bool vtd_instance_qemu_args(const struct vtd_instance *in, bool kvm, struct vtd_buf *out);
/* "vtrustctl" if on PATH next to us, else the absolute path in our build tree. */
void vtd_tool_path(const char *name, const char *build_subdir, char *out, size_t n);
/* Prints the QEMU fragment and the inspection commands (stdout). */
void vtd_print_attach(struct vtd_config *c);

/* ---- metrics (metrics.c) ---- */
void vtd_metrics_render(struct vtd_config *c, struct vtd_buf *out);

/* ---- control (control.c) ---- */
struct vtd_control;
int vtd_control_open(struct vtd_config *c, int inherited_fd, struct vtd_control **ret) VT_MUST_USE;
int vtd_control_start(struct vtd_control *ctl) VT_MUST_USE;
void vtd_control_stop(struct vtd_control *ctl);
void vtd_control_free(struct vtd_control *ctl);
/*
 * Handles one request line (without the newline) and returns the reply
 * object (one line when serialised). Never fails: malformed requests get
 * {"ok":false,"error":...}. Used by the control thread and the fuzz harness.
 */
struct json_object *vtd_control_handle_line(struct vtd_config *c, const char *line, size_t len);

/* ---- http (http.c) ---- */
enum vtd_http_result {
	VTD_HTTP_INCOMPLETE,
	VTD_HTTP_METRICS,     /* GET /metrics */
	VTD_HTTP_NOT_FOUND,   /* other path */
	VTD_HTTP_BAD_METHOD,  /* not GET/HEAD */
	VTD_HTTP_BAD_REQUEST, /* malformed or too long */
};
enum vtd_http_result vtd_http_parse(const char *buf, size_t len, size_t max, bool *head);
/* "127.0.0.1:9464", "[::1]:9464", "localhost:9464" or "9464"; non-loopback is refused. */
int vtd_http_listen(const char *spec) VT_MUST_USE;

/* ---- sandbox (sandbox.c) ---- */
enum vtd_thread_kind {
	VTD_THREAD_BASE, /* every thread (loaded with TSYNC by the main thread) */
	VTD_THREAD_MAIN,
	VTD_THREAD_PROTOCOL,
	VTD_THREAD_WORKER,
	VTD_THREAD_CONTROL,
};
/* Core dumps off (RLIMIT_CORE 0, PR_SET_DUMPABLE 0): key material lives in this process. */
int vtd_sandbox_no_dumps(void) VT_MUST_USE;
int vtd_sandbox_resolve_user(const char *name, uid_t *uid, gid_t *gid) VT_MUST_USE;
int vtd_sandbox_resolve_group(const char *name, gid_t *gid) VT_MUST_USE;
int vtd_sandbox_drop_user(const struct vtd_config *c) VT_MUST_USE;
int vtd_sandbox_no_new_privs(void) VT_MUST_USE;
/* Loads the allow-list for `kind` on the calling thread (BASE: on every thread). */
int vtd_seccomp_load(enum vtd_thread_kind kind, enum vtd_seccomp_action action) VT_MUST_USE;
/* Sets the action future worker threads use (core worker hook). */
void vtd_seccomp_install_worker_hook(enum vtd_seccomp_action action);
/* Debug: makes a syscall no allow-list permits; 1 if it was blocked, 0 if it ran. */
int vtd_seccomp_try_forbidden(void);

/* ---- signals / lifecycle (signals.c) ---- */
/* Blocks the signals the main thread waits for; call before creating threads. */
void vtd_signals_block(void);
/* Waits for SIGTERM/SIGINT (stop), SIGHUP (reopen logs) or an instance ending. */
enum vtd_wake { VTD_WAKE_STOP, VTD_WAKE_INSTANCE };
enum vtd_wake vtd_signals_wait(void);
/* Tells the main thread an instance ended (from its protocol thread). */
void vtd_signals_notify_instance(void);

/* ---- systemd (main.c) ---- */
void vtd_notify(const char *state);

/* ---- the service manager's fd store (fdstore.c) ---- */
struct vt_inherited_fd;
/* True (and ready to send) when NOTIFY_SOCKET and FDSTORE=N>0 offer a store. */
bool vtd_fdstore_probe(void);
bool vtd_fdstore_active(void);
/* Records what the previous process stored (the inherited fds, by name). */
void vtd_fdstore_adopt(struct vtd_config *c, struct vt_inherited_fd *fds, unsigned n);
/* Stores every device's fds, drops what nobody needs, closes unused inherited fds,
 * and keeps the store in step from then on. */
void vtd_fdstore_start(struct vtd_config *c, struct vt_inherited_fd *fds, unsigned n);

#endif
