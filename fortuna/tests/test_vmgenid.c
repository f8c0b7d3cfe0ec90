/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMGenID: the uevent parser accepts exactly kernel-format messages that
 * carry NEW_VMGENID=1, and the listener thread turns one into a new
 * generation for every generator (checked over a socketpair standing in
 * for the netlink socket; a real NETLINK_KOBJECT_UEVENT socket is opened and
 * closed too, but the kernel only sends the uevent on a VM restore).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "internal.h"
#include "tutil.h"

#define MSG(s) (const uint8_t *)(s), sizeof(s) - 1 /* keeps embedded NULs, drops the last */

static const char good[] = "change@/devices/LNXSYSTM:00/LNXSYBUS:00/VMGENID:00\0"
			   "ACTION=change\0DEVPATH=/devices/LNXSYSTM:00/LNXSYBUS:00/VMGENID:00\0"
			   "SUBSYSTEM=acpi\0NEW_VMGENID=1\0SEQNUM=2431\0";

static void test_parser(void)
{
	CHECK(vtf_uevent_is_new_vmgenid(MSG(good)));
	/* The key as the last token, with or without its terminating NUL. */
	CHECK(vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=1\0")));
	CHECK(vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=1")));
	/* Near misses. */
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=0\0")));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=10\0")));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0XNEW_VMGENID=1\0")));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=\0")));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0NEW_VMGENID=1x\0")));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x\0ACTION=change\0")));
	/* The key in the header is not an environment entry. */
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("NEW_VMGENID=1@/x\0")));
	/* No '@' in the header: not a kernel uevent (udev uses "libudev"). */
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("libudev\0NEW_VMGENID=1\0")));
	/* Unterminated header, empty and truncated input. */
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("change@/x")));
	CHECK(!vtf_uevent_is_new_vmgenid((const uint8_t *)"", 0));
	CHECK(!vtf_uevent_is_new_vmgenid((const uint8_t *)good, 60));
	CHECK(!vtf_uevent_is_new_vmgenid(MSG("\0NEW_VMGENID=1\0")));
}

/* Waits up to 2 s for ctx to see a new generation. */
static bool wait_stale(struct vtf_ctx *c, bool want)
{
	for (int i = 0; i < 400; i++) {
		struct vtf_status st;
		vtf_get_status(c, &st);
		if (!!(st.state & VTF_STATE_WAITING_RESEED) == want)
			return true;
		sleep_ms(5);
	}
	return false;
}

static void test_listener(void)
{
	struct vtf_ctx *c = new_ctx(0);
	int sv[2];
	uint8_t out[32];
	if (!c || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return;
	CHECK_EQ(vtf__vmgenid_listen_fd(sv[0], false), 0);
	CHECK_EQ(vtf_vmgenid_listen_start(), 0); /* already running: no-op */

	/* An unrelated uevent changes nothing. */
	const char other[] = "change@/devices/x\0ACTION=change\0";
	CHECK_EQ(send(sv[1], other, sizeof(other) - 1, 0), (ssize_t)sizeof(other) - 1);
	sleep_ms(50);
	CHECK(wait_stale(c, false));

	CHECK_EQ(send(sv[1], good, sizeof(good) - 1, 0), (ssize_t)sizeof(good) - 1);
	CHECK(wait_stale(c, true));
	CHECK_EQ(vtf_generate(c, out, sizeof(out)), 0); /* fast reseed, then output */
	struct vtf_status st;
	vtf_get_status(c, &st);
	CHECK_EQ(st.fast_reseeds, 1);
	CHECK(!(st.state & VTF_STATE_WAITING_RESEED));
	vtf_vmgenid_listen_stop();
	vtf_vmgenid_listen_stop(); /* idempotent */
	close(sv[1]);

	/* kernel_only: a datagram not sent by the kernel is ignored. */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return;
	CHECK_EQ(vtf__vmgenid_listen_fd(sv[0], true), 0);
	CHECK_EQ(send(sv[1], good, sizeof(good) - 1, 0), (ssize_t)sizeof(good) - 1);
	sleep_ms(100);
	CHECK(wait_stale(c, false));
	vtf_vmgenid_listen_stop();
	close(sv[1]);
	vtf_free(c);
}

static void test_real_netlink_socket(void)
{
	int r = vtf_vmgenid_listen_start();
	if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
		printf("skip: netlink uevent socket unavailable (%s)\n", vtf_strerror(r));
		return;
	}
	CHECK_EQ(r, 0);
	sleep_ms(10);
	vtf_vmgenid_listen_stop();
}

int main(void)
{
	TEST_RUN(test_parser);
	TEST_RUN(test_listener);
	TEST_RUN(test_real_netlink_socket);
	TEST_DONE();
}
