/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What vtrustd prints once its sockets listen: the QEMU 7.2 command line that
 * attaches its devices, and commands to inspect it. Every line can be pasted
 * as is: absolute socket paths, absolute paths to vtrustctl and vtrust-probe
 * when they are not on PATH (a build tree), and the accelerator this machine
 * really has:
 *
 *   KVM (/dev/kvm usable, CPU with vmx/svm)  -accel kvm, virtio-crypto-pci with its default MSI-X vectors;
 *   TCG (no /dev/kvm)      -accel tcg, virtio-crypto-pci,vectors=0: QEMU 7.2 dereferences a
 *                          NULL vector_irqfd with MSI-X on this device under TCG and crashes.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtrustd.h"

static bool cpu_has_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t && !found;
		     t = strtok_r(NULL, " \t\n", &save))
			found = !strcmp(t, "vmx") || !strcmp(t, "svm");
		break;
	}
	fclose(f);
	return found;
}

bool vtd_have_kvm(void)
{
	const char *force = getenv("VTRUSTD_ACCEL"); /* tests: kvm | tcg */
	if (force && *force)
		return !strcmp(force, "kvm");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
	close(fd);
	/* Some sandboxes offer a /dev/kvm that answers but cannot run a Linux guest ("KVM internal
	 * error ... emulation failure"): require the CPU's virtualisation extensions too. */
	return ok && cpu_has_virt();
}

/* The socket path as QEMU should see it: absolute. */
static void abs_path(const char *p, char *out, size_t n)
{
	char cwd[PATH_MAX];
	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd))) {
		snprintf(out, n, "%s", p);
		return;
	}
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	snprintf(out, n, "%s/%s", cwd, p);
}

bool vtd_instance_qemu_args(const struct vtd_instance *in, bool kvm, struct vtd_buf *out)
{
	if (!in->socket_path[0])
		return false; /* an inherited socket without a path (a socketpair): nothing to attach */
	char path[PATH_MAX + 128];
	abs_path(in->socket_path, path, sizeof(path));
	const char *t = in->type->type;
	if (!strcmp(t, "rng")) {
		vtd_buf_printf(out, "-chardev socket,id=%s,path=%s -device vhost-user-rng-pci,chardev=%s",
			       in->name, path, in->name);
		return true;
	}
	if (!strcmp(t, "crypto")) {
		vtd_buf_printf(out,
			       "-chardev socket,id=%s,path=%s -object cryptodev-vhost-user,id=%s-cd,chardev=%s "
			       "-device virtio-crypto-pci,cryptodev=%s-cd%s",
			       in->name, path, in->name, in->name, in->name, kvm ? "" : ",vectors=0");
		return true;
	}
	/* virtio-rpmb (and test devices) have no front-end in QEMU 7.2. */
	return false;
}

static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		return false;
	char *copy = strdup(path), *save = NULL;
	bool found = false;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", d, name) < (int)sizeof(p))
			found = access(p, X_OK) == 0;
	}
	free(copy);
	return found;
}

/*
 * How to run a sibling tool: "vtrustctl" when vtrustd is installed next to it on PATH, else the
 * absolute path in the build tree this vtrustd comes from (BUILD/daemon/vtrustd ->
 * BUILD/ctl/vtrustctl).
 */
void vtd_tool_path(const char *name, const char *build_subdir, char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char cand[PATH_MAX + 64];
			snprintf(cand, sizeof(cand), "%s/../%s/%s", exe, build_subdir, name);
			char real[PATH_MAX];
			if (access(cand, X_OK) == 0 && realpath(cand, real)) {
				/* In a build tree (the sibling is not the one on PATH): the full path. */
				snprintf(out, n, "%s", real);
				return;
			}
			snprintf(cand, sizeof(cand), "%s/%s", exe, name);
			if (!on_path(name) && access(cand, X_OK) == 0) {
				snprintf(out, n, "%s", cand);
				return;
			}
		}
	}
	snprintf(out, n, "%s", name);
}

/*
 * How to run vtrust-probe: on PATH, or built in our build tree, or (a build tree where
 * `make run` built only vtrustd and vtrustctl) build it first, in the same pasteable line.
 */
static void probe_command(char *out, size_t n)
{
	vtd_tool_path("vtrust-probe", "probe", out, n);
	if (strchr(out, '/') || on_path("vtrust-probe"))
		return;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = '\0';
	char *s = strrchr(exe, '/');
	if (!s || s == exe)
		return;
	*s = '\0';
	s = strrchr(exe, '/');
	if (!s || strcmp(s, "/daemon"))
		return; /* not BUILD/daemon/vtrustd */
	*s = '\0';
	int r = snprintf(out, n, "ninja -C %s probe/vtrust-probe && %s/probe/vtrust-probe", exe, exe);
	if (r < 0 || (size_t)r >= n)
		snprintf(out, n, "vtrust-probe");
}

void vtd_print_attach(struct vtd_config *c)
{
	struct vtd_buf b = {0};
	bool kvm = vtd_have_kvm();
	unsigned nqemu = 0;
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vtd_buf args = {0};
		nqemu += vtd_instance_qemu_args(c->inst[i], kvm, &args);
		vtd_buf_free(&args);
	}
	vtd_buf_printf(&b, "vtrustd: %u device%s ready.\n", c->ninst, c->ninst == 1 ? "" : "s");
	if (nqemu) {
		vtd_buf_printf(&b,
			       "Attach to QEMU 7.2 (%s; guest RAM must be a shared memfd; add your disk, "
			       "kernel, ...):\n",
			       kvm ? "KVM: /dev/kvm is usable"
				   : "TCG: no usable KVM here, so virtio-crypto-pci needs vectors=0");
		vtd_buf_printf(&b,
			       "  qemu-system-x86_64 -machine q35,memory-backend=mem -accel %s -m 1G "
			       "-object memory-backend-memfd,id=mem,size=1G,share=on",
			       kvm ? "kvm" : "tcg");
		for (unsigned i = 0; i < c->ninst; i++) {
			struct vtd_buf args = {0};
			if (vtd_instance_qemu_args(c->inst[i], kvm, &args))
				vtd_buf_printf(&b, " \\\n    %s", args.data);
			vtd_buf_free(&args);
		}
		vtd_buf_printf(&b, "\n");
	}
	char probe[2 * PATH_MAX + 64], ctl[PATH_MAX];
	probe_command(probe, sizeof(probe));
	vtd_tool_path("vtrustctl", "ctl", ctl, sizeof(ctl));
	/* Devices QEMU 7.2 cannot front: how to drive them instead. */
	for (unsigned i = 0; i < c->ninst; i++) {
		struct vtd_buf args = {0};
		bool qemu = vtd_instance_qemu_args(c->inst[i], kvm, &args);
		vtd_buf_free(&args);
		if (qemu)
			continue;
		if (!c->inst[i]->socket_path[0])
			continue;
		char path[PATH_MAX + 128];
		abs_path(c->inst[i]->socket_path, path, sizeof(path));
		vtd_buf_printf(&b, "%s (%s) has no QEMU 7.2 front-end; drive it with vtrust-probe, e.g.:\n",
			       c->inst[i]->name, c->inst[i]->type->type);
		vtd_buf_printf(&b, "  %s --socket %s info\n", probe, path);
	}
	if (c->control_socket) {
		char cs[PATH_MAX + 128];
		abs_path(c->control_socket, cs, sizeof(cs));
		vtd_buf_printf(&b, "Inspect it from another terminal:\n");
		vtd_buf_printf(&b, "  %s --socket %s status\n", ctl, cs);
		vtd_buf_printf(&b, "  %s --socket %s metrics\n", ctl, cs);
	}
	if (b.data) {
		fputs(b.data, stdout);
		fflush(stdout);
	}
	vtd_buf_free(&b);
}
