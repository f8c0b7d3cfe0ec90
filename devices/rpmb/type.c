/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rpmb device type: options, the vhost-user device ops (one request
 * queue, 3-byte config space, DEVICE_STATE save/load), metrics, status and
 * the operator commands rpmb-info, rpmb-ticket, rpmb-ticket-cancel, rpmb-arm,
 * rpmb-export, rpmb-import and
 * rpmb-cancel-export.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "log.h"
#include "registry.h"
#include "rpmb.h"

static uint64_t rpmb_features(void *priv)
{
	(void)priv;
	return 0; /* virtio-rpmb has no feature bits */
}

static uint16_t rpmb_num_queues(void *priv)
{
	(void)priv;
	return 1;
}

static int rpmb_get_config(void *priv, uint32_t off, void *buf, uint32_t len)
{
	struct rpmb_dev *d = priv;
	uint8_t cfg[3] = {d->store->geom.capacity, d->store->geom.max_wr, d->max_rd};
	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -EINVAL;
	memcpy(buf, cfg + off, len);
	return 0;
}

static const struct vt_device_ops rpmb_ops = {
    .type = "rpmb",
    .virtio_id = RPMB_VIRTIO_ID,
    .get_features = rpmb_features,
    .protocol_features = VT_BIT(VHOST_USER_PROTOCOL_F_CONFIG),
    .num_queues = rpmb_num_queues,
    .max_queue_size = 1024,
    .get_config = rpmb_get_config,
    .queue_handle = rpmb_queue_handle,
    .save_state = rpmb_save_state,
    .load_state = rpmb_load_state,
    .resume_size = rpmb_resume_size,
    .resume_attach = rpmb_resume_attach,
};

/* Parses and checks every option; path receives the default store path. No side effects. */
static int rpmb_parse(const struct vt_devcfg *cfg, struct rpmb_opts *ret, char *path, size_t n)
{
	static const char *const known[] = {
	    "store", "capacity",	"max_wr_cnt", "max_rd_cnt", "migration_key", "master_key",
	    "vm_id", "initial_counter", "lock_dir",	"tpm",	      "tpm_nv_index",  NULL};
	if (vt_devcfg_check_keys(cfg, known) < 0)
		return -EINVAL;
	uint64_t cap, wr, rd, ic;
	if (vt_devcfg_u64(cfg, "capacity", 16, 1, RPMB_MAX_CAPACITY, &cap) < 0 ||
	    vt_devcfg_u64(cfg, "max_wr_cnt", 32, 1, 255, &wr) < 0 ||
	    vt_devcfg_u64(cfg, "max_rd_cnt", 32, 1, 255, &rd) < 0 ||
	    vt_devcfg_u64(cfg, "initial_counter", 0, 0, RPMB_COUNTER_MAX, &ic) < 0)
		return -EINVAL;
	struct rpmb_opts o = {
	    .name = cfg->name,
	    .create = {.geom = {.capacity = (uint8_t)cap, .max_wr = (uint8_t)wr},
		       .initial_counter = (uint32_t)ic,
		       .lock_dir = vt_devcfg_get(cfg, "lock_dir")},
	    .capacity_set = vt_devcfg_get(cfg, "capacity") != NULL,
	    .max_wr_set = vt_devcfg_get(cfg, "max_wr_cnt") != NULL,
	    .max_rd = (uint8_t)rd,
	    .migration_key_path = vt_devcfg_get(cfg, "migration_key"),
	    .master_key_path = vt_devcfg_get(cfg, "master_key"),
	    .vm_id = vt_devcfg_get(cfg, "vm_id"),
	    .tpm = vt_devcfg_get(cfg, "tpm"),
	};
	uint64_t nvi;
	if (vt_devcfg_u64(cfg, "tpm_nv_index", 0, 0, 0x01ffffff, &nvi) < 0)
		return -EINVAL;
	if (nvi && (nvi < 0x01000000 || nvi > 0x013fffff)) {
		vt_err("%s: tpm_nv_index 0x%llx is outside the owner NV range 0x01000000-0x013fffff",
		       cfg->name, (unsigned long long)nvi);
		return -EINVAL;
	}
	o.tpm_nv_index = (uint32_t)nvi;
	if (!o.master_key_path != !o.vm_id) {
		vt_err("%s: key provisioning needs both master_key and vm_id", cfg->name);
		return -EINVAL;
	}
	if (o.vm_id && !*o.vm_id) {
		vt_err("%s: vm_id must not be empty", cfg->name);
		return -EINVAL;
	}
	const char *store = vt_devcfg_get(cfg, "store");
	if (!store) {
		if (!cfg->state_dir) {
			vt_err("%s: no RPMB store: give the option store=PATH (--opt store=PATH), or a "
			       "state directory (--state-dir DIR) for DIR/%s.rpmb",
			       cfg->name, cfg->name);
			return -EINVAL;
		}
		snprintf(path, n, "%s/%s.rpmb", cfg->state_dir, cfg->name);
		store = path;
	}
	o.store_path = store;
	*ret = o;
	return 0;
}

static int rpmb_check(const struct vt_devcfg *cfg)
{
	struct rpmb_opts o;
	char path[4096];
	return rpmb_parse(cfg, &o, path, sizeof(path));
}

static int rpmb_create(const struct vt_devcfg *cfg, void **ret)
{
	struct rpmb_opts o;
	char path[4096];
	if (rpmb_parse(cfg, &o, path, sizeof(path)) < 0)
		return -EINVAL;
	struct rpmb_dev *d;
	int r = rpmb_dev_new(&o, &d);
	if (r < 0)
		return r;
	*ret = d;
	return 0;
}

static void rpmb_destroy(void *priv)
{
	rpmb_dev_free(priv);
}

static const char *state_name(const struct rpmb_dev *d)
{
	const struct rpmb_store *s = d->store;
	if (d->rolled_back)
		return "rolled_back";
	if (s->failed)
		return "failed";
	if (s->st.flags & RPMB_ST_IMPORTING)
		return "importing";
	if (s->st.flags & RPMB_ST_EXPORTED)
		return "exported";
	return "active";
}

static void latency_pct(const struct rpmb_dev *d, double p, double *ret_us)
{
	uint64_t n = d->stats.wr_lat_n, want = (uint64_t)(p * (double)n), acc = 0;
	*ret_us = 0;
	for (unsigned i = 0; n && i < RPMB_LAT_BUCKETS; i++) {
		acc += d->stats.wr_lat_hist[i];
		if (acc > want) {
			*ret_us = i + 0.5;
			return;
		}
	}
}

static void rpmb_metrics(void *priv, vt_metric_fn fn, void *ctx)
{
	struct rpmb_dev *d = priv;
	static const char *const req[6] = {"malformed",	 "program_key", "get_write_counter",
					   "data_write", "data_read",	"result_read"};
	static const char *const res[9] = {"ok",
					   "general_failure",
					   "auth_failure",
					   "count_failure",
					   "addr_failure",
					   "write_failure",
					   "read_failure",
					   "no_auth_key",
					   "counter_expired"};
	char l[64];
	for (unsigned i = 0; i < 6; i++) {
		snprintf(l, sizeof(l), "type=\"%s\"", req[i]);
		fn(ctx, "vtrust_rpmb_requests_total", l, (double)atomic_load(&d->stats.requests[i]),
		   "RPMB requests by type", "counter");
	}
	for (unsigned i = 0; i < 9; i++) {
		snprintf(l, sizeof(l), "result=\"%s\"", res[i]);
		fn(ctx, "vtrust_rpmb_results_total", l, (double)atomic_load(&d->stats.results[i]),
		   "RPMB response results", "counter");
	}
	fn(ctx, "vtrust_rpmb_blocks_written_total", "",
	   (double)atomic_load(&d->stats.blocks_written), "256-byte blocks written", "counter");
	fn(ctx, "vtrust_rpmb_blocks_read_total", "", (double)atomic_load(&d->stats.blocks_read),
	   "256-byte blocks read", "counter");
	fn(ctx, "vtrust_rpmb_refused_total", "", (double)atomic_load(&d->stats.refused),
	   "requests refused because the store is exported, importing or failed", "counter");
	pthread_mutex_lock(&d->lock);
	/* The device's monotonic write counter (a gauge: Prometheus reserves "counter"). */
	fn(ctx, "vtrust_rpmb_authenticated_writes", "", d->store->st.counter,
	   "RPMB write counter value (authenticated writes)", "gauge");
	fn(ctx, "vtrust_rpmb_key_programmed", "", (d->store->st.flags & RPMB_ST_KEY) ? 1 : 0,
	   "1 if the authentication key is programmed", "gauge");
	fn(ctx, "vtrust_rpmb_serving", "", rpmb_refusal(d) ? 0 : 1,
	   "1 unless the device refuses service (exported, importing, failed)", "gauge");
	fn(ctx, "vtrust_rpmb_store_syncs_total", "", (double)d->store->syncs, "fdatasync calls",
	   "counter");
	fn(ctx, "vtrust_rpmb_rollback_detection", "", d->tpm ? 1 : 0,
	   "1 if a restored older copy of the store file is detected (TPM anchor); 0: NOT detected",
	   "gauge");
	fn(ctx, "vtrust_rpmb_rolled_back", "", d->rolled_back ? 1 : 0,
	   "1 if the store failed its TPM anchor check (an older copy) and service is refused",
	   "gauge");
	fn(ctx, "vtrust_rpmb_tpm_increments_total", "", (double)d->stats.tpm_increments,
	   "TPM NV counter increments (the rollback anchor's TPM write budget)", "counter");
	fn(ctx, "vtrust_rpmb_tpm_errors_total", "", (double)d->stats.tpm_errors,
	   "failed TPM anchor increments (retried)", "counter");
	fn(ctx, "vtrust_rpmb_damaged_block_reads_total", "", (double)d->store->damaged_blocks,
	   "block reads refused with READ_FAILURE: the block failed its checksum (damaged at rest)",
	   "counter");
	fn(ctx, "vtrust_rpmb_journal_repaired_copies_total", "", (double)d->store->repaired_copies,
	   "journal record copies found damaged or torn at open and rewritten from the other copy",
	   "counter");
	/* A histogram (Prometheus computes any quantile, over any window, across devices) from
	 * the 1 µs buckets; the last of those collects everything slower, so it is only in +Inf. */
	static const unsigned le_us[] = {50, 100, 200, 500, 1000, 2000};
	const char *help = "device-side DATA_WRITE latency (request parsed to response ready)";
	uint64_t acc = 0;
	unsigned b = 0;
	for (unsigned k = 0; k < VT_ARRAY_SIZE(le_us); k++) {
		for (; b < le_us[k] && b < RPMB_LAT_BUCKETS - 1; b++)
			acc += d->stats.wr_lat_hist[b];
		snprintf(l, sizeof(l), "le=\"%g\"", le_us[k] / 1e6);
		fn(ctx, "vtrust_rpmb_write_latency_seconds_bucket", l, (double)acc, help,
		   "histogram");
	}
	fn(ctx, "vtrust_rpmb_write_latency_seconds_bucket", "le=\"+Inf\"",
	   (double)d->stats.wr_lat_n, help, "histogram");
	fn(ctx, "vtrust_rpmb_write_latency_seconds_sum", "", (double)d->stats.wr_lat_ns_sum / 1e9,
	   help, "histogram");
	fn(ctx, "vtrust_rpmb_write_latency_seconds_count", "", (double)d->stats.wr_lat_n, help,
	   "histogram");
	pthread_mutex_unlock(&d->lock);
}

static void info_locked(struct rpmb_dev *d, struct json_object *out)
{
	const struct rpmb_store *s = d->store;
	char id[2 * RPMB_ID_SIZE + 1];
	for (unsigned i = 0; i < RPMB_ID_SIZE; i++)
		snprintf(id + 2 * i, 3, "%02x", s->st.device_id[i]);
	json_object_object_add(out, "store",
			       json_object_new_string(d->store_path ? d->store_path : ""));
	json_object_object_add(out, "state", json_object_new_string(state_name(d)));
	/* The path must still name the file we serve (a rename under us is an attack or a mistake). */
	struct stat a, b;
	bool replaced = d->store_path && s->fd >= 0 && fstat(s->fd, &a) == 0 &&
			(stat(d->store_path, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino);
	json_object_object_add(out, "store_path_replaced", json_object_new_boolean(replaced));
	json_object_object_add(out, "key_programmed",
			       json_object_new_boolean(s->st.flags & RPMB_ST_KEY));
	json_object_object_add(out, "write_counter", json_object_new_int64(s->st.counter));
	json_object_object_add(out, "counter_expired",
			       json_object_new_boolean(s->st.counter == RPMB_COUNTER_MAX));
	json_object_object_add(out, "capacity_128k", json_object_new_int(s->geom.capacity));
	json_object_object_add(out, "max_wr_cnt", json_object_new_int(s->geom.max_wr));
	json_object_object_add(out, "max_rd_cnt", json_object_new_int(d->max_rd));
	json_object_object_add(out, "generation", json_object_new_int64((int64_t)s->st.generation));
	json_object_object_add(out, "device_id", json_object_new_string(id));
	json_object_object_add(out, "journal_seq", json_object_new_int64((int64_t)s->st.seq));
	json_object_object_add(out, "store_version", json_object_new_int((int)s->version));
	/* Journal writes bypass the page cache (O_DIRECT) unless the file system refused it. */
	json_object_object_add(out, "journal_direct_io", json_object_new_boolean(s->fdio.dfd >= 0));
	json_object_object_add(out, "journal_direct_writes",
			       json_object_new_int64((int64_t)s->fdio.direct_writes));
	json_object_object_add(
	    out, "rollback_detection",
	    json_object_new_string(d->tpm ? "tpm"
					  : "NONE: no tpm configured, a restored older copy of the "
					    "store file is not detected"));
	if (s->st.flags & RPMB_ST_ANCHORED) {
		char idx[16];
		snprintf(idx, sizeof(idx), "0x%08x", s->st.tpm_index);
		json_object_object_add(out, "tpm_nv_index", json_object_new_string(idx));
		json_object_object_add(out, "tpm_anchor", json_object_new_int64((int64_t)s->st.anchor));
	}
	if (d->rolled_back)
		json_object_object_add(out, "refusal", json_object_new_string(d->rollback_reason));
	json_object_object_add(out, "damaged_block_reads",
			       json_object_new_int64((int64_t)s->damaged_blocks));
	json_object_object_add(out, "journal_repaired_copies",
			       json_object_new_int64((int64_t)s->repaired_copies));
	json_object_object_add(out, "migration_key", json_object_new_boolean(d->mig_key != NULL));
	json_object_object_add(out, "import_ticket_outstanding",
			       json_object_new_boolean(s->st.flags & RPMB_ST_TICKET));
	json_object_object_add(out, "armed_for_device_state", json_object_new_boolean(d->armed_set));
	double p50, p99;
	latency_pct(d, 0.5, &p50);
	latency_pct(d, 0.99, &p99);
	json_object_object_add(out, "write_latency_p50_us", json_object_new_double(p50));
	json_object_object_add(out, "write_latency_p99_us", json_object_new_double(p99));
	json_object_object_add(out, "writes", json_object_new_int64((int64_t)d->stats.wr_lat_n));
}

static void rpmb_status(void *priv, struct json_object *out)
{
	struct rpmb_dev *d = priv;
	pthread_mutex_lock(&d->lock);
	info_locked(d, out);
	pthread_mutex_unlock(&d->lock);
}

static int fail(struct json_object *reply, int r, const char *msg)
{
	json_object_object_add(reply, "error", json_object_new_string(msg));
	return r;
}

static const char *arg_str(struct json_object *args, const char *key)
{
	struct json_object *p;
	if (!args || !json_object_object_get_ex(args, key, &p) ||
	    !json_object_is_type(p, json_type_string))
		return NULL;
	return json_object_get_string(p);
}

static const char *arg_path(struct json_object *args)
{
	return arg_str(args, "path");
}

/* The "ticket" argument: 0, or a reply error (missing or malformed). */
static int arg_ticket(struct json_object *args, struct rpmb_ticket *t, struct json_object *reply)
{
	const char *text = arg_str(args, "ticket");
	if (!text)
		return fail(reply, -ENOKEY,
			    "missing \"ticket\" argument: run 'vtrustctl rpmb ticket DEVICE' on the "
			    "destination first");
	if (rpmb_ticket_parse(text, t) < 0)
		return fail(reply, -EINVAL,
			    "malformed ticket: expected vtrpmb1-<32 hex>-<32 hex> as 'vtrustctl rpmb "
			    "ticket' prints it");
	return 0;
}


static int control_export(struct rpmb_dev *d, const char *path, const struct rpmb_ticket *t,
			  struct json_object *reply)
{
	char err[400];
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, sizeof(err), "cannot create %s: %s", path, strerror(-e));
		return fail(reply, e, err);
	}
	uint8_t *blob;
	size_t len;
	int r = rpmb_export(d, t, &blob, &len, err, sizeof(err));
	if (r < 0) {
		(void)unlink(path);
		return fail(reply, r, err);
	}
	size_t off = 0;
	while (r == 0 && off < len) {
		ssize_t w = write(fd, blob + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = w < 0 ? -errno : -EIO;
		else
			off += (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	free(blob);
	if (r < 0) {
		snprintf(err, sizeof(err),
			 "writing %s failed: %s; the store stays exported (rpmb-cancel-export "
			 "resumes it)",
			 path, strerror(-r));
		return fail(reply, r, err);
	}
	json_object_object_add(reply, "path", json_object_new_string(path));
	json_object_object_add(reply, "bytes", json_object_new_int64((int64_t)len));
	pthread_mutex_lock(&d->lock);
	info_locked(d, reply);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int control_import(struct rpmb_dev *d, const char *path, struct json_object *reply)
{
	char err[300];
	/* O_NONBLOCK: a FIFO must not hold the control thread until a writer comes. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, sizeof(err), "cannot open %s: %s", path, strerror(-e));
		return fail(reply, e, err);
	}
	struct stat st;
	size_t want = rpmb_blob_size(d->store->geom.capacity);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != want) {
		snprintf(err, sizeof(err), "%s is not an export of a device of this capacity",
			 path);
		return fail(reply, -EINVAL, err);
	}
	uint8_t *buf = malloc(want);
	if (!buf)
		return fail(reply, -ENOMEM, "out of memory");
	size_t off = 0;
	int r = 0;
	while (off < want) {
		ssize_t n = read(fd, buf + off, want - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0)
		r = rpmb_import(d, buf, want, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "reading %s: %s", path, strerror(-r));
	free(buf);
	if (r < 0)
		return fail(reply, r, err);
	pthread_mutex_lock(&d->lock);
	info_locked(d, reply);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int rpmb_control(void *priv, const char *command, struct json_object *args,
			struct json_object *reply)
{
	struct rpmb_dev *d = priv;
	if (strcmp(command, "rpmb-info") == 0) {
		rpmb_status(d, reply);
		return 0;
	}
	if (strcmp(command, "rpmb-export") == 0 || strcmp(command, "rpmb-import") == 0) {
		const char *path = arg_path(args);
		if (!path)
			return fail(reply, -EINVAL, "missing \"path\" argument");
		if (command[5] == 'i')
			return control_import(d, path, reply);
		if (!d->mig_key)
			return fail(reply, -ENOKEY,
				    "no migration_key configured (give the device the option "
				    "migration_key=FILE, the same key file on both hosts)");
		struct rpmb_ticket t;
		int r = arg_ticket(args, &t, reply);
		return r < 0 ? r : control_export(d, path, &t, reply);
	}
	if (strcmp(command, "rpmb-ticket") == 0) {
		char err[300], text[RPMB_TICKET_STR_LEN + 1];
		struct rpmb_ticket t;
		int r = rpmb_ticket_issue(d, &t, err, sizeof(err));
		if (r < 0)
			return fail(reply, r, err);
		rpmb_ticket_format(&t, text);
		json_object_object_add(reply, "ticket", json_object_new_string(text));
		return 0;
	}
	if (strcmp(command, "rpmb-ticket-cancel") == 0) {
		char err[256], text[RPMB_RECEIPT_STR_LEN + 1];
		uint8_t rc[RPMB_RECEIPT_SIZE];
		int r = rpmb_ticket_cancel(d, rc, err, sizeof(err));
		if (r < 0)
			return fail(reply, r, err);
		rpmb_receipt_format(rc, text);
		json_object_object_add(reply, "receipt", json_object_new_string(text));
		return 0;
	}
	if (strcmp(command, "rpmb-arm") == 0) {
		char err[256];
		struct rpmb_ticket t;
		int r = arg_ticket(args, &t, reply);
		if (r < 0)
			return r;
		r = rpmb_arm(d, &t, err, sizeof(err));
		if (r < 0)
			return fail(reply, r, err);
		rpmb_status(d, reply);
		return 0;
	}
	if (strcmp(command, "rpmb-cancel-export") == 0) {
		char err[300];
		uint8_t rc[RPMB_RECEIPT_SIZE];
		const char *text = arg_str(args, "receipt");
		struct json_object *o = NULL;
		bool override = args && json_object_object_get_ex(args, "no_receipt_override", &o) &&
				json_object_is_type(o, json_type_boolean) && json_object_get_boolean(o);
		if (!text && !override)
			return fail(reply, -EINVAL,
				    "missing \"receipt\" argument: run 'vtrustctl rpmb ticket-cancel "
				    "DEVICE' on the destination and give the receipt it prints");
		if (text && rpmb_receipt_parse(text, rc) < 0)
			return fail(reply, -EINVAL,
				    "malformed receipt: expected vtrpmbv1-<64 hex> as 'vtrustctl "
				    "rpmb ticket-cancel' prints it");
		int r = rpmb_cancel_export(d, text ? rc : NULL, err, sizeof(err));
		if (r < 0)
			return fail(reply, r, err);
		rpmb_status(d, reply);
		return 0;
	}
	return -ENOTSUP;
}

const struct vt_device_type vt_rpmb_device_type = {
    .type = "rpmb",
    .summary = "virtio-rpmb: replay-protected memory block backed by a crash-safe host store",
    .ops = &rpmb_ops,
    .create = rpmb_create,
    .check = rpmb_check,
    .destroy = rpmb_destroy,
    .metrics = rpmb_metrics,
    .status = rpmb_status,
    .control = rpmb_control,
};
