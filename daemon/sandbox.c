/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox vtrustd enters once its sockets, stores and devices exist:
 *
 *  - core dumps off (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) from the start: keys live here;
 *  - the configured user (initgroups, setresgid, setresuid; getting root back must fail);
 *  - PR_SET_NO_NEW_PRIVS;
 *  - seccomp allow-lists (libseccomp), stacked per thread type:
 *      base      loaded by the main thread with TSYNC, so it covers every thread,
 *                including any a device created during set-up;
 *      main      signal waiting, log reopening, teardown;
 *      protocol  one per device instance: vhost-user socket I/O, guest memory maps,
 *                eventfds, creating queue worker threads (clone with CLONE_THREAD only);
 *      worker    loaded by each queue worker on itself (core worker hook), on top of
 *                its protocol thread's filter: no new threads, no sockets, no accept;
 *      control   the control socket and HTTP endpoint: no new threads.
 *    clone3 fails with ENOSYS everywhere (glibc then uses clone, whose flags a
 *    filter can check), so no thread can fork or exec.
 *
 * The action for a syscall outside the list is configurable: log (default: the
 * kernel logs it and it runs, so a forgotten syscall never breaks a guest),
 * errno (EPERM), trap (vtrustd logs the syscall number, it fails with EPERM) or
 * kill (the whole process dies with SIGSYS).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "vtrustd.h"

int vtd_sandbox_no_dumps(void)
{
	struct rlimit rl = {0, 0}, cur;
	/* Already 0 (e.g. LimitCORE=0 under a filter that forbids setrlimit): nothing to do. */
	bool done = getrlimit(RLIMIT_CORE, &cur) == 0 && cur.rlim_cur == 0 && cur.rlim_max == 0;
	if (!done && setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int vtd_sandbox_resolve_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = all_digits(name) ? getpwuid((uid_t)strtoul(name, NULL, 10)) : getpwnam(name);
	if (!pw) {
		if (all_digits(name)) {
			*uid = (uid_t)strtoul(name, NULL, 10);
			*gid = (gid_t)*uid;
			return 0;
		}
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int vtd_sandbox_resolve_group(const char *name, gid_t *gid)
{
	if (all_digits(name)) {
		*gid = (gid_t)strtoul(name, NULL, 10);
		return 0;
	}
	struct group *gr = getgrnam(name);
	if (!gr) {
		return -ENOENT;
	}
	*gid = gr->gr_gid;
	return 0;
}

int vtd_sandbox_drop_user(const struct vtd_config *c)
{
	if (!c->user) {
		if (geteuid() == 0)
			vt_warn("running as root: set user= (or --user) to drop privileges after set-up");
		return 0;
	}
	uid_t uid = c->user_uid;
	gid_t gid = c->user_gid;
	if (geteuid() != 0) {
		if (geteuid() == uid)
			return 0; /* already that user (e.g. systemd User=) */
		vt_err("user=%s: only root can change user", c->user);
		return -EPERM;
	}
	struct passwd *pw = getpwuid(uid);
	if (pw ? initgroups(pw->pw_name, gid) < 0 : setgroups(1, &gid) < 0) {
		vt_err("user=%s: cannot set supplementary groups: %s", c->user, strerror(errno));
		return -errno;
	}
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		vt_err("user=%s: cannot change user: %s", c->user, strerror(errno));
		return -EPERM;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		vt_err("user=%s: root could be regained after the drop", c->user);
		return -EPERM;
	}
	/* A credential change resets dumpability: switch it off again. */
	int r = vtd_sandbox_no_dumps();
	if (r < 0)
		return r;
	vt_info("running as uid %u gid %u", (unsigned)uid, (unsigned)gid);
	return 0;
}

int vtd_sandbox_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* ---- allow-lists ---- */

/* Everything any thread may need (the base filter, loaded on every thread). */
static const char *const sys_common[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "close",
	"lseek", "fstat", "newfstatat", "statx", "fcntl", "dup", "futex", "exit", "exit_group",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "restart_syscall", "clock_gettime", "clock_getres",
	"clock_nanosleep", "nanosleep", "gettimeofday", "getpid", "gettid", "getuid", "geteuid",
	"getgid", "getegid", "getrandom", "sched_yield", "sched_getaffinity", "madvise", "mmap",
	"munmap", "mremap", "mprotect", "brk", "mlock", "mlock2", "munlock", "set_robust_list",
	"rseq", "sendmsg", "sendto", "recvmsg", "recvfrom", "getsockopt", "poll", "ppoll",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "openat", "fdatasync", "fsync", "flock",
	"unlink", "unlinkat", "membarrier", "seccomp", NULL,
};
static const char *const sys_main[] = {
	"rt_sigtimedwait", "ftruncate", "fallocate", "rename", "renameat", "renameat2",
	"close_range", "timerfd_settime", "timerfd_gettime", NULL,
};
static const char *const sys_protocol[] = {
	"accept", "accept4", "shutdown", "setsockopt", "getsockname", "getpeername",
	"eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime", "epoll_create1",
	"memfd_create", "pipe2", "ftruncate", "fallocate", "rename", "renameat", "renameat2",
	"sched_setaffinity", "kcmp",
	/* guest memory: resident pages only are pre-faulted; fd kinds checked by /proc */
	"mincore", "readlink", "readlinkat", NULL,
};
static const char *const sys_worker[] = {
	"timerfd_settime", "timerfd_gettime", "epoll_create1", "eventfd2", "ftruncate",
	"fallocate", "rename", "renameat", "renameat2", NULL,
};
static const char *const sys_control[] = {
	"accept", "accept4", "shutdown", "setsockopt", "getsockname", "getpeername",
	"epoll_create1", "eventfd2", "ftruncate", "fallocate", "rename", "renameat", "renameat2",
	/* glibc's qsort sizes its buffer from the RAM size (get_phys_pages): metrics sort */
	"sysinfo", NULL,
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VTD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VTD_SANITIZED 1
#endif
#endif
#ifdef VTD_SANITIZED
/* The sanitizer runtimes (leak checking stops the world with a ptrace helper). */
static const char *const sys_sanitizer[] = {
	"sigaltstack", "rt_sigaction", "prctl", "ptrace", "wait4", "clone", "getdents64",
	"readlink", "readlinkat", "open", "sched_getaffinity", "getrlimit", "prlimit64",
	"setrlimit", "uname", "process_vm_readv", "pipe2", "sysinfo", "getppid", "kill", "tgkill",
	"munmap", "mincore", "getpriority", NULL,
};
#endif

static enum vtd_seccomp_action worker_action;

static uint32_t to_scmp(enum vtd_seccomp_action a)
{
	switch (a) {
	case VTD_SECCOMP_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case VTD_SECCOMP_TRAP:
		return SCMP_ACT_TRAP;
	case VTD_SECCOMP_ERRNO:
		return SCMP_ACT_ERRNO(EPERM);
	default:
		return SCMP_ACT_LOG;
	}
}

static int allow_list(scmp_filter_ctx ctx, const char *const *names)
{
	for (unsigned i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST) {
			vt_err("seccomp: cannot allow %s: %s", names[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

static void trap_handler(int sig, siginfo_t *si, void *uc_)
{
	(void)sig;
	/* Async-signal-safe: format by hand, write(2), make the syscall fail with EPERM. */
	char msg[96] = "vtrustd: seccomp: blocked syscall ";
	size_t n = strlen(msg);
	char digits[12];
	int d = 0;
	unsigned nr = (unsigned)si->si_syscall;
	do {
		digits[d++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr && d < (int)sizeof(digits));
	while (d)
		msg[n++] = digits[--d];
	msg[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, n);
	(void)w;
	ucontext_t *uc = uc_;
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#else
	(void)uc;
#endif
}

int vtd_seccomp_load(enum vtd_thread_kind kind, enum vtd_seccomp_action action)
{
	if (action == VTD_SECCOMP_OFF)
		return 0;
	if (action == VTD_SECCOMP_TRAP && kind == VTD_THREAD_BASE) {
		struct sigaction sa = {.sa_sigaction = trap_handler, .sa_flags = SA_SIGINFO};
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
	}
	scmp_filter_ctx ctx = seccomp_init(to_scmp(action));
	if (!ctx)
		return -ENOMEM;
	int r = 0;
	const char *const *lists[4] = {0};
	unsigned nl = 0;
	switch (kind) {
	case VTD_THREAD_BASE:
		lists[nl++] = sys_common;
		lists[nl++] = sys_main;
		lists[nl++] = sys_protocol;
		lists[nl++] = sys_control;
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
		break;
	case VTD_THREAD_MAIN:
		lists[nl++] = sys_common;
		lists[nl++] = sys_main;
		break;
	case VTD_THREAD_PROTOCOL:
		lists[nl++] = sys_common;
		lists[nl++] = sys_protocol;
		break;
	case VTD_THREAD_WORKER:
		lists[nl++] = sys_common;
		lists[nl++] = sys_worker;
		break;
	case VTD_THREAD_CONTROL:
		lists[nl++] = sys_common;
		lists[nl++] = sys_control;
		break;
	}
	for (unsigned i = 0; r == 0 && i < nl; i++)
		r = allow_list(ctx, lists[i]);
#ifdef VTD_SANITIZED
	if (r == 0)
		r = allow_list(ctx, sys_sanitizer);
#endif
	/* Sockets: Unix only (journal logging opens one lazily). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* Signals to ourselves only (instance-ended notification, abort()). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* Thread names (pthread_setname_np on ourselves) and dumpability queries. */
	/* Thread names, and what libseccomp needs to stack a thread's own filter. */
	static const int prctl_ok[] = {PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS,
				       PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_GET_DUMPABLE};
	for (unsigned i = 0; r == 0 && i < sizeof(prctl_ok) / sizeof(prctl_ok[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ok[i]));
	/* New threads only where threads are created: clone with CLONE_THREAD. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0 && (kind == VTD_THREAD_BASE || kind == VTD_THREAD_PROTOCOL))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		vt_err("seccomp: cannot load the filter: %s", strerror(-r));
		return r;
	}
	return 0;
}

static void worker_hook(struct vt_queue *q)
{
	if (vtd_seccomp_load(VTD_THREAD_WORKER, worker_action) < 0)
		vt_err("queue %u: worker runs without its own seccomp filter", vt_queue_index(q));
}

void vtd_seccomp_install_worker_hook(enum vtd_seccomp_action action)
{
	worker_action = action;
	vt_worker_set_thread_hook(action == VTD_SECCOMP_OFF ? NULL : worker_hook);
}

int vtd_seccomp_try_forbidden(void)
{
	/* personality(0xffffffff) only queries the persona: harmless if it runs. */
	errno = 0;
	long r = syscall(SYS_personality, 0xffffffffUL);
	return r < 0 && errno == EPERM ? 1 : 0;
}
