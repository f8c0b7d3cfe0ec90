/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rpmb device type as vtrustd uses it: options, default store path,
 * config space, lock, metrics, status and the control commands rpmb-info,
 * rpmb-export, rpmb-import, rpmb-cancel-export.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../../core/tests/test_util.h"
#include "log.h"
#include "registry.h"

static char dir[64];

static int create(const char *name, const struct vt_devopt *opts, unsigned n, void **ret)
{
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	struct vt_devcfg c = {
	    .name = name, .type = "rpmb", .state_dir = dir, .opts = opts, .nopts = n};
	return t->create(&c, ret);
}

static const char *sget(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static long long iget(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static char ticket[128]; /* the "ticket" argument of ctl(), if set */
/* The rpmb-cancel-export "receipt" argument; "override" sends no_receipt_override. */
static char receipt[80];

static int ctl(void *priv, const char *cmd, const char *path, struct json_object **reply)
{
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	struct json_object *args = json_object_new_object();
	if (path)
		json_object_object_add(args, "path", json_object_new_string(path));
	if (*ticket)
		json_object_object_add(args, "ticket", json_object_new_string(ticket));
	if (strcmp(receipt, "override") == 0)
		json_object_object_add(args, "no_receipt_override", json_object_new_boolean(1));
	else if (*receipt)
		json_object_object_add(args, "receipt", json_object_new_string(receipt));
	*reply = json_object_new_object();
	int r = t->control(priv, cmd, args, *reply);
	json_object_put(args);
	return r;
}

static int nmetrics;
static void metric(void *ctx, const char *name, const char *labels, double value, const char *help,
		   const char *type)
{
	(void)ctx, (void)labels, (void)value, (void)help, (void)type;
	nmetrics += strncmp(name, "vtrust_rpmb_", 12) == 0;
}

static void test_options(void)
{
	void *p = NULL;
	struct vt_devopt bad[] = {{"nonsense", "1"}};
	CHECK_EQ(create("r", bad, 1, &p), -EINVAL);
	struct vt_devopt cap[] = {{"capacity", "129"}};
	CHECK_EQ(create("r", cap, 1, &p), -EINVAL);
	struct vt_devopt half[] = {{"vm-id", "x"}};
	CHECK_EQ(create("r", half, 1, &p), -EINVAL);
	/* Default store: <state_dir>/<name>.rpmb */
	struct vt_devopt ok[] = {{"capacity", "2"}, {"max-wr-cnt", "4"}, {"max-rd-cnt", "3"}};
	CHECK_EQ(create("rpmb7", ok, 3, &p), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/rpmb7.rpmb", dir);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	uint8_t cfg[3] = {0};
	CHECK_EQ(t->ops->get_config(p, 0, cfg, 3), 0);
	CHECK(cfg[0] == 2 && cfg[1] == 4 && cfg[2] == 3);
	CHECK_EQ(t->ops->get_config(p, 1, cfg, 3), -EINVAL);
	CHECK_EQ(t->ops->virtio_id, 28);
	CHECK_EQ(t->ops->num_queues(p), 1);
	CHECK(t->ops->save_state && t->ops->load_state);
	/* The same store twice: the lock refuses. */
	void *p2 = NULL;
	CHECK_EQ(create("rpmb7", ok, 3, &p2), -EBUSY);
	/* Geometry that contradicts the store. */
	t->destroy(p);
	/* Keys are spelled with '_'; the '-' spelling above is the deprecated one. */
	struct vt_devopt snake[] = {{"capacity", "2"}, {"max_wr_cnt", "4"}, {"max_rd_cnt", "3"}};
	CHECK_EQ(create("rpmb7", snake, 3, &p), 0);
	memset(cfg, 0, sizeof(cfg));
	CHECK_EQ(t->ops->get_config(p, 0, cfg, 3), 0);
	CHECK(cfg[0] == 2 && cfg[1] == 4 && cfg[2] == 3);
	t->destroy(p);
	struct vt_devopt other[] = {{"capacity", "3"}};
	CHECK_EQ(create("rpmb7", other, 1, &p2), -EINVAL);
	CHECK_EQ(create("rpmb7", NULL, 0, &p), 0);
	nmetrics = 0;
	t->metrics(p, metric, NULL);
	CHECK(nmetrics > 20);
	struct json_object *st_js = json_object_new_object();
	t->status(p, st_js);
	CHECK_EQ(iget(st_js, "capacity_128k"), 2);
	CHECK(strcmp(sget(st_js, "state"), "active") == 0);
	json_object_put(st_js);
	t->destroy(p);
}

static void test_control(void)
{
	const struct vt_device_type *t = vt_device_type_find("rpmb");
	char key[128], blob[128], blob2[128];
	snprintf(key, sizeof(key), "%s/mig.key", dir);
	snprintf(blob, sizeof(blob), "%s/export.bin", dir);
	snprintf(blob2, sizeof(blob2), "%s/export2.bin", dir);
	int fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, "0123456789abcdef0123456789abcdef", 32) == 32);
	close(fd);
	struct vt_devopt o[] = {{"capacity", "1"}, {"migration-key", key}};
	void *a = NULL, *b = NULL, *nokey = NULL;
	CHECK_EQ(create("src", o, 2, &a), 0);
	CHECK_EQ(create("dst", o, 2, &b), 0);
	CHECK_EQ(create("plain", o, 1, &nokey), 0);
	struct json_object *r;
	CHECK_EQ(ctl(a, "rpmb-info", NULL, &r), 0);
	CHECK(strcmp(sget(r, "state"), "active") == 0);
	CHECK_EQ(iget(r, "write_counter"), 0);
	json_object_put(r);
	CHECK_EQ(ctl(a, "rpmb-frobnicate", NULL, &r), -ENOTSUP);
	json_object_put(r);
	CHECK_EQ(ctl(a, "rpmb-export", NULL, &r), -EINVAL);
	CHECK(strstr(sget(r, "error"), "path") != NULL);
	json_object_put(r);
	CHECK(ctl(nokey, "rpmb-export", blob, &r) < 0);
	CHECK(strstr(sget(r, "error"), "migration_key") != NULL);
	json_object_put(r);
	CHECK(access(blob, F_OK) != 0); /* nothing left behind */
	/* No ticket, a malformed one, or the store's own: refused, nothing left behind. */
	CHECK_EQ(ctl(a, "rpmb-export", blob, &r), -ENOKEY);
	CHECK(strstr(sget(r, "error"), "vtrustctl rpmb ticket") != NULL);
	json_object_put(r);
	snprintf(ticket, sizeof(ticket), "vtrpmb1-00");
	CHECK_EQ(ctl(a, "rpmb-export", blob, &r), -EINVAL);
	json_object_put(r);
	CHECK(access(blob, F_OK) != 0);
	*ticket = 0;
	CHECK_EQ(ctl(a, "rpmb-ticket", NULL, &r), 0);
	snprintf(ticket, sizeof(ticket), "%s", sget(r, "ticket"));
	json_object_put(r);
	CHECK_EQ(ctl(a, "rpmb-export", blob, &r), -EINVAL);
	json_object_put(r);
	CHECK_EQ(ctl(a, "rpmb-ticket-cancel", NULL, &r), 0);
	char own_receipt[80];
	snprintf(own_receipt, sizeof(own_receipt), "%s", sget(r, "receipt"));
	CHECK_EQ(strlen(own_receipt), 73);
	CHECK(strncmp(own_receipt, "vtrpmbv1-", 9) == 0);
	json_object_put(r);
	/* The destination's ticket. */
	*ticket = 0;
	CHECK_EQ(ctl(b, "rpmb-ticket", NULL, &r), 0);
	snprintf(ticket, sizeof(ticket), "%s", sget(r, "ticket"));
	CHECK_EQ(strlen(ticket), 73);
	json_object_put(r);
	CHECK_EQ(ctl(b, "rpmb-info", NULL, &r), 0);
	CHECK(json_object_get_boolean(json_object_object_get(r, "import_ticket_outstanding")));
	json_object_put(r);

	CHECK_EQ(ctl(a, "rpmb-export", blob, &r), 0);
	CHECK(strcmp(sget(r, "state"), "exported") == 0);
	json_object_put(r);
	struct stat st;
	CHECK_EQ(stat(blob, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	/* Exporting twice is refused; so is overwriting an existing file. */
	CHECK(ctl(a, "rpmb-export", blob2, &r) < 0);
	json_object_put(r);
	CHECK_EQ(ctl(b, "rpmb-import", blob, &r), 0);
	CHECK(strcmp(sget(r, "state"), "active") == 0);
	json_object_put(r);
	CHECK(ctl(b, "rpmb-import", blob, &r) < 0); /* b is live now */
	CHECK(strlen(sget(r, "error")) > 0);
	json_object_put(r);
	/* A FIFO (no writer) as the file to import: refused at once, the control thread never
	 * waits for a writer (alarm: a hang fails the test). */
	char fifo[160];
	snprintf(fifo, sizeof(fifo), "%s/import.fifo", dir);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	alarm(10);
	CHECK(ctl(b, "rpmb-import", fifo, &r) < 0);
	alarm(0);
	CHECK(strstr(sget(r, "error"), "not an export") != NULL);
	json_object_put(r);
	/* Cancel: no receipt, a malformed one, or one for another ticket: refused. */
	CHECK_EQ(ctl(a, "rpmb-cancel-export", NULL, &r), -EINVAL);
	CHECK(strstr(sget(r, "error"), "ticket-cancel") != NULL);
	json_object_put(r);
	snprintf(receipt, sizeof(receipt), "vtrpmbv1-00");
	CHECK_EQ(ctl(a, "rpmb-cancel-export", NULL, &r), -EINVAL);
	json_object_put(r);
	snprintf(receipt, sizeof(receipt), "%s", own_receipt);
	CHECK_EQ(ctl(a, "rpmb-cancel-export", NULL, &r), -EACCES);
	json_object_put(r);
	/* b imported the blob: only the override resumes a (here: two live copies). */
	snprintf(receipt, sizeof(receipt), "override");
	CHECK_EQ(ctl(a, "rpmb-cancel-export", NULL, &r), 0);
	CHECK(strcmp(sget(r, "state"), "active") == 0);
	json_object_put(r);
	CHECK(ctl(a, "rpmb-cancel-export", NULL, &r) < 0);
	json_object_put(r);
	*receipt = 0;
	/* rpmb-arm: a ticket for DEVICE_STATE. */
	CHECK_EQ(ctl(a, "rpmb-arm", NULL, &r), 0);
	CHECK(json_object_get_boolean(json_object_object_get(r, "armed_for_device_state")));
	json_object_put(r);
	*ticket = 0;
	CHECK_EQ(ctl(a, "rpmb-arm", NULL, &r), -ENOKEY);
	json_object_put(r);
	t->destroy(a);
	t->destroy(b);
	t->destroy(nokey);
}

int main(void)
{
	vt_log_set_level(VT_LOG_ERR - 1);
	snprintf(dir, sizeof(dir), "/tmp/rpmb-type.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	TEST_RUN(test_options);
	TEST_RUN(test_control);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	TEST_DONE();
}
