/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The queue worker and the control thread at the same time (suite tsan):
 * one thread writes, reads and asks for the counter; another scrapes
 * metrics and status and exports / cancels exports. Nothing may race (TSan),
 * and every answer must be a valid one: OK, or GENERAL_FAILURE while exported.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "../../core/tests/test_util.h"
#include "client.h"
#include "log.h"
#include "registry.h"
#include "rpmb.h"

static char dir[64];
static void *priv;
static _Atomic bool done;
static _Atomic int bad;

static void metric(void *ctx, const char *name, const char *labels, double value, const char *help,
		   const char *type)
{
	(void)ctx, (void)name, (void)labels, (void)value, (void)help, (void)type;
}

static void *control_thread(void *arg)
{
	(void)arg;
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	char path[128];
	for (int i = 0; !atomic_load(&done); i++) {
		t->metrics(priv, metric, NULL);
		struct json_object *o = json_object_new_object(), *args = json_object_new_object();
		t->status(priv, o);
		json_object_put(o);
		o = json_object_new_object();
		snprintf(path, sizeof(path), "%s/blob%d", dir, i);
		json_object_object_add(args, "path", json_object_new_string(path));
		/* A ticket of another (never opened) store: exports go out for it. */
		/* A fresh nonce each time: an export for a ticket already used is refused. */
		char tk[80];
		snprintf(tk, sizeof(tk), "vtrpmb1-000102030405060708090a0b0c0d0e0f-%032x", i);
		json_object_object_add(args, "ticket", json_object_new_string(tk));
		if (t->control(priv, "rpmb-export", args, o) == 0) {
			json_object_put(o);
			o = json_object_new_object();
			struct json_object *ov = json_object_new_object();
			json_object_object_add(ov, "no_receipt_override", json_object_new_boolean(1));
			int cr = t->control(priv, "rpmb-cancel-export", ov, o);
			json_object_put(ov);
			if (cr != 0)
				atomic_fetch_add(&bad, 1);
		}
		(void)unlink(path);
		json_object_put(o);
		json_object_put(args);
		usleep(2000); /* leave the device serving most of the time */
	}
	return NULL;
}

static void test_concurrent(void)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/mig", dir);
	FILE *f = fopen(key, "w");
	fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", f);
	fclose(f);
	(void)chmod(key, 0600);
	struct vt_devopt o[] = {{"capacity", "1"}, {"migration-key", key}, {"max-wr-cnt", "4"}};
	struct vt_devcfg c = {.name = "t", .type = "rpmb", .state_dir = dir, .opts = o, .nopts = 3};
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	CHECK_EQ(t->create(&c, &priv), 0);
	struct rpmb_dev *d = priv;
	uint8_t k[32];
	memset(k, 0x21, sizeof(k));
	struct rpmb_frame in[8], out[8];
	size_t n = rpmb_cl_program_key(in, k, true);
	CHECK_EQ(rpmb_request(d, in, n, false, out, 1), 1);
	pthread_t th;
	pthread_create(&th, NULL, control_thread, NULL);
	uint8_t data[4 * 256] = {1}, nonce[16] = {0};
	int ok = 0;
	/* At least 300 rounds, and on until 20 writes landed between exports (slow TSan runs). */
	for (int i = 0; i < 5000 && (i < 300 || ok < 20); i++) {
		rpmb_cl_get_counter(in, nonce);
		if (rpmb_request(d, in, 1, false, out, 1) != 1)
			atomic_fetch_add(&bad, 1);
		uint16_t r = rpmb_result(&out[0]);
		if (r == RPMB_RES_GENERAL_FAILURE)
			continue; /* exported at this instant */
		if (r != RPMB_RES_OK)
			atomic_fetch_add(&bad, 1);
		n = rpmb_cl_write(in, k, rpmb_counter(&out[0]), (uint16_t)(i % 500), 4, data, true);
		if (rpmb_request(d, in, n, false, out, 1) != 1)
			atomic_fetch_add(&bad, 1);
		r = rpmb_result(&out[0]);
		ok += r == RPMB_RES_OK;
		if (r != RPMB_RES_OK && r != RPMB_RES_GENERAL_FAILURE)
			atomic_fetch_add(&bad, 1);
		rpmb_cl_read(in, (uint16_t)(i % 500), 4, nonce);
		(void)rpmb_request(d, in, 1, false, out, 8);
		rpmb_apply_pending(d);
	}
	atomic_store(&done, true);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(ok > 0);
	printf("%d writes ok\n", ok);
	t->destroy(priv);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	snprintf(dir, sizeof(dir), "/tmp/rpmb-thr.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	TEST_RUN(test_concurrent);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	TEST_DONE();
}
