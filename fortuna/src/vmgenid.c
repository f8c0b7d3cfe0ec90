/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMGenID listener. Linux's vmgenid driver (drivers/virt/vmgenid.c, 5.18+)
 * reseeds the kernel CRNG when the VM generation ID changes and then emits
 * a KOBJ_CHANGE uevent whose environment contains "NEW_VMGENID=1". Kernel
 * uevents go to multicast group 1 of NETLINK_KOBJECT_UEVENT, which any user
 * may join. One thread per process waits for them and bumps vtf_epoch, so
 * every generator fast-reseeds before its next output.
 *
 * Message format: "<action>@<devpath>\0KEY=VALUE\0KEY=VALUE\0...". Messages
 * re-broadcast by udev start with "libudev\0" and are ignored, as is anything
 * whose sender is not the kernel (netlink port id 0).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#ifdef __linux__
#include <linux/netlink.h>
#endif

#include "internal.h"

static const char vmgenid_key[] = "NEW_VMGENID=1";

bool vtf_uevent_is_new_vmgenid(const uint8_t *buf, size_t len)
{
	const char *s = (const char *)buf;
	size_t head = strnlen(s, len);

	/* The header must be terminated and have the form action@devpath. */
	if (head == 0 || head >= len || !memchr(s, '@', head))
		return false;
	for (size_t off = head + 1; off < len;) {
		size_t n = strnlen(s + off, len - off);
		if (n == sizeof(vmgenid_key) - 1 && strncmp(s + off, vmgenid_key, n) == 0)
			return true;
		off += n + 1;
	}
	return false;
}

static struct {
	pthread_mutex_t lock;
	bool running;
	bool kernel_only;
	int fd;
	int stop_fd;
	pthread_t thread;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .stop_fd = -1};

static void *listener_main(void *arg)
{
	int fd = L.fd, stop_fd = L.stop_fd;
	bool kernel_only = L.kernel_only;
	uint8_t buf[8192];

	(void)arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN)) {
			if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
				break;
			continue;
		}
#ifdef __linux__
		struct sockaddr_nl sa;
#else
		struct sockaddr_storage sa;
#endif
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr msg = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
				     .msg_iovlen = 1};
		memset(&sa, 0, sizeof(sa));
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			/*
			 * ENOBUFS: the socket overflowed and uevents were lost,
			 * possibly ours. Assume the worst; a spare fast reseed
			 * costs microseconds.
			 */
			if (errno == ENOBUFS)
				vtf_new_generation_all();
			continue;
		}
#ifdef __linux__
		if (kernel_only && (msg.msg_namelen < sizeof(sa) || sa.nl_pid != 0))
			continue;
#endif
		if (vtf_uevent_is_new_vmgenid(buf, (size_t)n))
			vtf_new_generation_all();
	}
	return NULL;
}

/* Takes ownership of fd. */
static int start_on_fd(int fd, bool kernel_only)
{
	int r = 0;

	pthread_mutex_lock(&L.lock);
	if (L.running) {
		close(fd);
		goto out;
	}
	L.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (L.stop_fd < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	L.fd = fd;
	L.kernel_only = kernel_only;
	r = -pthread_create(&L.thread, NULL, listener_main, NULL);
	if (r < 0) {
		close(L.fd);
		close(L.stop_fd);
		L.fd = L.stop_fd = -1;
		goto out;
	}
	L.running = true;
out:
	pthread_mutex_unlock(&L.lock);
	return r;
}

int vtf_vmgenid_listen_start(void)
{
#ifdef __linux__
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1 /* kernel uevents */};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return start_on_fd(fd, true);
#else
	return -ENOTSUP;
#endif
}

int vtf__vmgenid_listen_fd(int fd, bool kernel_only)
{
	if (fd < 0)
		return -EINVAL;
	return start_on_fd(fd, kernel_only);
}

void vtf_vmgenid_listen_stop(void)
{
	pthread_mutex_lock(&L.lock);
	if (L.running) {
		uint64_t one = 1;
		ssize_t w = write(L.stop_fd, &one, sizeof(one));
		(void)w; /* a full eventfd is already signalled */
		pthread_join(L.thread, NULL);
		close(L.fd);
		close(L.stop_fd);
		L.fd = L.stop_fd = -1;
		L.running = false;
	}
	pthread_mutex_unlock(&L.lock);
}

void vtf_vmgenid_atfork_prepare(void)
{
	pthread_mutex_lock(&L.lock);
}

void vtf_vmgenid_atfork_parent(void)
{
	pthread_mutex_unlock(&L.lock);
}

void vtf_vmgenid_atfork_child(void)
{
	/* The thread stayed in the parent; drop the copied descriptors. */
	if (L.running) {
		close(L.fd);
		close(L.stop_fd);
		L.fd = L.stop_fd = -1;
		L.running = false;
	}
	pthread_mutex_unlock(&L.lock);
}
