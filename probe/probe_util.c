/* SPDX-License-Identifier: Apache-2.0 */
/* Small output helpers shared by the probe's commands. */
#include <string.h>

#include "probe.h"

void probe_hex(FILE *f, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%s%02x", i ? " " : "", buf[i]);
}

static const char *const feature_names[64] = {
    [VIRTIO_F_NOTIFY_ON_EMPTY] = "NOTIFY_ON_EMPTY",
    [VHOST_F_LOG_ALL] = "LOG_ALL",
    [VIRTIO_F_ANY_LAYOUT] = "ANY_LAYOUT",
    [VIRTIO_RING_F_INDIRECT_DESC] = "INDIRECT_DESC",
    [VIRTIO_RING_F_EVENT_IDX] = "EVENT_IDX",
    [VHOST_USER_F_PROTOCOL_FEATURES] = "PROTOCOL_FEATURES",
    [VIRTIO_F_VERSION_1] = "VERSION_1",
    [VIRTIO_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
    [VIRTIO_F_RING_PACKED] = "RING_PACKED",
    [35] = "IN_ORDER",
    [36] = "ORDER_PLATFORM",
    [37] = "SR_IOV",
    [38] = "NOTIFICATION_DATA",
    [VIRTIO_F_RING_RESET] = "RING_RESET",
    [43] = "SUSPEND",
};

static const char *const protocol_names[64] = {
    [VHOST_USER_PROTOCOL_F_MQ] = "MQ",
    [VHOST_USER_PROTOCOL_F_LOG_SHMFD] = "LOG_SHMFD",
    [VHOST_USER_PROTOCOL_F_RARP] = "RARP",
    [VHOST_USER_PROTOCOL_F_REPLY_ACK] = "REPLY_ACK",
    [VHOST_USER_PROTOCOL_F_MTU] = "MTU",
    [VHOST_USER_PROTOCOL_F_BACKEND_REQ] = "BACKEND_REQ",
    [VHOST_USER_PROTOCOL_F_CROSS_ENDIAN] = "CROSS_ENDIAN",
    [VHOST_USER_PROTOCOL_F_CRYPTO_SESSION] = "CRYPTO_SESSION",
    [VHOST_USER_PROTOCOL_F_PAGEFAULT] = "PAGEFAULT",
    [VHOST_USER_PROTOCOL_F_CONFIG] = "CONFIG",
    [VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
    [VHOST_USER_PROTOCOL_F_HOST_NOTIFIER] = "HOST_NOTIFIER",
    [VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
    [VHOST_USER_PROTOCOL_F_RESET_DEVICE] = "RESET_DEVICE",
    [VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
    [VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
    [VHOST_USER_PROTOCOL_F_STATUS] = "STATUS",
    [17] = "XEN_MMAP",
    [18] = "SHARED_OBJECT",
    [VHOST_USER_PROTOCOL_F_DEVICE_STATE] = "DEVICE_STATE",
};

static const char *names(const char *const table[64], uint64_t bits, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < 64; b++) {
		if (!(bits & VT_BIT(b)))
			continue;
		char one[32];
		if (table[b])
			snprintf(one, sizeof(one), "%s", table[b]);
		else
			snprintf(one, sizeof(one), "bit%u", b);
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", one);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

const char *probe_feature_names(uint64_t features, char *buf, size_t len)
{
	return names(feature_names, features, buf, len);
}

const char *probe_protocol_names(uint64_t features, char *buf, size_t len)
{
	return names(protocol_names, features, buf, len);
}
