/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crypto`: run any operation through a virtio-crypto back-end as a guest
 * driver would. Data comes on stdin, the result goes to stdout, the device's
 * status to stderr (`status=NAME`) and into the exit code.
 *
 *   crypto cipher --alg aes-128-cbc --key HEX [--iv HEX] --encrypt|--decrypt
 *   crypto hash   --alg sha256 [--result-len N]
 *   crypto mac    --alg hmac-sha256|cmac-aes --key HEX [--result-len N]
 *   crypto aead   --alg aes-256-gcm|aes-128-ccm|chacha20-poly1305 --key HEX --iv HEX
 *                 [--aad HEX] --tag-len N --encrypt|--decrypt     (ciphertext then tag)
 *   crypto chain  --alg aes-128-cbc --key HEX --iv HEX (--mac hmac-sha256 --auth-key HEX |
 *                 --hash sha256) [--order cipher-then-hash|hash-then-cipher] [--aad HEX]
 *                 [--cipher-offset N --cipher-len N --hash-offset N --hash-len N]
 *                 [--result-len N] --encrypt|--decrypt            (dst then hash result)
 *   crypto sign|verify|encrypt|decrypt --alg rsa|ecdsa --key-file DER [--public]
 *                 [--padding pkcs1|raw] [--rsa-hash none|sha1|sha256|...] [--curve p256|p384|...]
 *                 [--signature FILE (verify)] [--out-len N]
 *   crypto bench  [--seconds S] [--reps R] [--depths 1,64] [--sizes 64,1024,16384] [--quick]
 *                 [--alg aes-256-gcm|aes-128-cbc|sha256|hmac-sha256]  (that one only)
 *                 [--control VTRUSTD_CONTROL_SOCKET]   (adds the worker's time per request)
 *
 * Common: --stateless (stateless request, REVISION_1 + the service's
 * stateless bit), --vhost-session (sessions through CREATE_CRYPTO_SESSION
 * exactly as QEMU 7.2 creates them: SET_FEATURES 0x40000000 so legacy
 * layouts, no SET_VRING_ENABLE, data queue 0 only, indirect + event-idx
 * rings; --vhost-layout 1072 for newer QEMU, needed for akcipher),
 * --legacy (do not ack REVISION_1: Linux 6.1's layouts), --rev1-only (ack
 * REVISION_1 but no stateless bit), --queue Q (data
 * queue), --split N (segment size), --in-place (dst descriptors alias src, as Linux's
 * in-place requests), --alg-id N (send this algorithm number),
 * --session-id N (use an existing/foreign id, no create), --keep-session.
 *
 * Exit status: 0 OK, 10 + status for a device status (11 ERR, 12 BADMSG,
 * 13 NOTSUPP, 14 INVSESS, 15 NOSPC, 16 KEY_REJECTED), 1 transport failure,
 * 2 usage.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto_bench.h"
#include "fe_time.h"

#define IN_MAX (64u << 20)

/* ---- names ----------------------------------------------------------------------- */

struct name_id {
	const char *name;
	uint32_t id;
};

static const struct name_id hash_names[] = {
	{"md5", VC_HASH_MD5},           {"sha1", VC_HASH_SHA1},         {"sha224", VC_HASH_SHA_224},
	{"sha256", VC_HASH_SHA_256},    {"sha384", VC_HASH_SHA_384},    {"sha512", VC_HASH_SHA_512},
	{"sha3-224", VC_HASH_SHA3_224}, {"sha3-256", VC_HASH_SHA3_256}, {"sha3-384", VC_HASH_SHA3_384},
	{"sha3-512", VC_HASH_SHA3_512},
};
static const struct name_id mac_names[] = {
	{"hmac-md5", VC_MAC_HMAC_MD5},         {"hmac-sha1", VC_MAC_HMAC_SHA1},
	{"hmac-sha224", VC_MAC_HMAC_SHA_224},  {"hmac-sha256", VC_MAC_HMAC_SHA_256},
	{"hmac-sha384", VC_MAC_HMAC_SHA_384},  {"hmac-sha512", VC_MAC_HMAC_SHA_512},
	{"cmac-aes", VC_MAC_CMAC_AES},         {"cmac-3des", VC_MAC_CMAC_3DES},
	{"gmac-aes", VC_MAC_GMAC_AES},
};
static const struct name_id rsa_hash_names[] = {
	{"none", VC_RSA_NO_HASH},   {"md5", VC_RSA_MD5},       {"sha1", VC_RSA_SHA1},
	{"sha224", VC_RSA_SHA224},  {"sha256", VC_RSA_SHA256}, {"sha384", VC_RSA_SHA384},
	{"sha512", VC_RSA_SHA512},  {"md2", VC_RSA_MD2},
};
static const struct name_id curve_names[] = {
	{"unknown", VC_CURVE_UNKNOWN}, {"p192", VC_CURVE_NIST_P192}, {"p224", VC_CURVE_NIST_P224},
	{"p256", VC_CURVE_NIST_P256},  {"p384", VC_CURVE_NIST_P384}, {"p521", VC_CURVE_NIST_P521},
};

static int lookup(const struct name_id *t, size_t n, const char *name, uint32_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name)) {
			*id = t[i].id;
			return 0;
		}
	return -EINVAL;
}

/* "aes-128-cbc" (the key length comes from --key), "aes-cbc", "3des-cbc". */
static int cipher_id(const char *name, uint32_t *id)
{
	static const struct name_id modes[] = {
		{"ecb", VC_CIPHER_AES_ECB}, {"cbc", VC_CIPHER_AES_CBC}, {"ctr", VC_CIPHER_AES_CTR},
		{"xts", VC_CIPHER_AES_XTS},
	};
	const char *m = strrchr(name, '-');
	if (!m)
		return -EINVAL;
	if (!strncmp(name, "3des-", 5) || !strncmp(name, "des-ede3-", 9)) {
		if (!strcmp(m + 1, "cbc"))
			return *id = VC_CIPHER_3DES_CBC, 0;
		if (!strcmp(m + 1, "ecb"))
			return *id = VC_CIPHER_3DES_ECB, 0;
		return -EINVAL;
	}
	if (strncmp(name, "aes-", 4))
		return -EINVAL;
	return lookup(modes, VT_ARRAY_SIZE(modes), m + 1, id);
}

static int aead_id(const char *name, uint32_t *id)
{
	if (!strcmp(name, "chacha20-poly1305"))
		return *id = VC_AEAD_CHACHA20_POLY1305, 0;
	if (strncmp(name, "aes-", 4))
		return -EINVAL;
	if (strstr(name, "-gcm"))
		return *id = VC_AEAD_GCM, 0;
	if (strstr(name, "-ccm"))
		return *id = VC_AEAD_CCM, 0;
	return -EINVAL;
}

/* ---- arguments ---------------------------------------------------------------------- */


static int usage_err(const char *fmt, ...) VT_PRINTF(1, 2);
static int usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "crypto: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 2;
}

static int parse_args(int argc, char **argv, struct cc_args *a)
{
	enum {
		O_ALG = 256, O_KEY, O_IV, O_AAD, O_AUTH_KEY, O_HASH, O_MAC, O_ORDER, O_KEY_FILE,
		O_SIG, O_PADDING, O_RSA_HASH, O_CURVE, O_ENC, O_DEC, O_STATELESS, O_VHOST,
		O_IN_PLACE, O_VHOST_LAYOUT, O_LEGACY, O_PUBLIC, O_TAG, O_RESULT, O_OUTLEN, O_SPLIT, O_QUEUE,
		O_ALGID, O_SID, O_KEEP, O_COFF, O_CLEN, O_HOFF, O_HLEN, O_SECONDS, O_REPS, O_SIZES,
		O_DEPTHS, O_QUICK, O_REV1_ONLY, O_CONTROL,
	};
	static const struct option lo[] = {
		{"alg", 1, 0, O_ALG},           {"key", 1, 0, O_KEY},
		{"iv", 1, 0, O_IV},             {"aad", 1, 0, O_AAD},
		{"auth-key", 1, 0, O_AUTH_KEY}, {"hash", 1, 0, O_HASH},
		{"mac", 1, 0, O_MAC},           {"order", 1, 0, O_ORDER},
		{"key-file", 1, 0, O_KEY_FILE}, {"signature", 1, 0, O_SIG},
		{"padding", 1, 0, O_PADDING},   {"rsa-hash", 1, 0, O_RSA_HASH},
		{"curve", 1, 0, O_CURVE},       {"encrypt", 0, 0, O_ENC},
		{"decrypt", 0, 0, O_DEC},       {"stateless", 0, 0, O_STATELESS},
		{"vhost-session", 0, 0, O_VHOST}, {"vhost-layout", 1, 0, O_VHOST_LAYOUT},
		{"legacy", 0, 0, O_LEGACY},     {"public", 0, 0, O_PUBLIC},
		{"tag-len", 1, 0, O_TAG},       {"result-len", 1, 0, O_RESULT},
		{"out-len", 1, 0, O_OUTLEN},    {"split", 1, 0, O_SPLIT},
		{"queue", 1, 0, O_QUEUE},       {"alg-id", 1, 0, O_ALGID},
		{"session-id", 1, 0, O_SID},    {"keep-session", 0, 0, O_KEEP},
		{"cipher-offset", 1, 0, O_COFF}, {"cipher-len", 1, 0, O_CLEN},
		{"hash-offset", 1, 0, O_HOFF},  {"hash-len", 1, 0, O_HLEN},
		{"seconds", 1, 0, O_SECONDS},   {"reps", 1, 0, O_REPS},
		{"sizes", 1, 0, O_SIZES},       {"depths", 1, 0, O_DEPTHS},
		{"quick", 0, 0, O_QUICK},       {"rev1-only", 0, 0, O_REV1_ONLY},
		{"control", 1, 0, O_CONTROL},   {"in-place", 0, 0, O_IN_PLACE},
		{0, 0, 0, 0},
	};
	*a = (struct cc_args){.enc = -1, .tag_len = -1, .result_len = 0, .out_len = 1024,
			      .alg_id = -1, .vhost_layout = 632, .cipher_off = -1, .cipher_len = -1,
			      .hash_off = -1, .hash_len = -1, .reps = 3, .seconds = 0.3,
			      .sizes = "64,1024,16384", .depths = "1,64"};
	optind = 0; /* glibc: full re-initialisation after main's getopt */
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end = NULL;
		long v = optarg ? strtol(optarg, &end, 0) : 0;
		bool num_ok = optarg && end != optarg && *end == '\0';
		switch (c) {
		case O_ALG: a->alg = optarg; break;
		case O_KEY: a->key = optarg; break;
		case O_IV: a->iv = optarg; break;
		case O_AAD: a->aad = optarg; break;
		case O_AUTH_KEY: a->auth_key = optarg; break;
		case O_HASH: a->hash = optarg; break;
		case O_MAC: a->mac = optarg; break;
		case O_ORDER: a->order = optarg; break;
		case O_KEY_FILE: a->key_file = optarg; break;
		case O_SIG: a->sig_file = optarg; break;
		case O_PADDING: a->padding = optarg; break;
		case O_RSA_HASH: a->rsa_hash = optarg; break;
		case O_CURVE: a->curve = optarg; break;
		case O_ENC: a->enc = 1; break;
		case O_DEC: a->enc = 0; break;
		case O_STATELESS: a->stateless = true; break;
		case O_IN_PLACE: a->in_place = true; break;
		case O_VHOST: a->vhost = true; break;
		case O_LEGACY: a->legacy = true; break;
		case O_PUBLIC: a->public_key = true; break;
		case O_KEEP: a->keep = true; break;
		case O_QUICK: a->quick = true; break;
		case O_REV1_ONLY: a->rev1_only = true; break;
		case O_CONTROL: a->control = optarg; break;
		case O_SIZES: a->sizes = optarg; break;
		case O_DEPTHS: a->depths = optarg; break;
		case O_SECONDS:
			a->seconds = strtod(optarg, &end);
			if (*end || a->seconds <= 0)
				return usage_err("bad --seconds %s", optarg);
			break;
		case O_SID:
			a->session_id = strtoull(optarg, &end, 0);
			if (*end)
				return usage_err("bad --session-id %s", optarg);
			a->session_id_set = true;
			break;
		default:
			if (c == '?' || !num_ok || v < 0)
				return usage_err("bad option or value %s", optarg ? optarg : "");
			if (c == O_VHOST_LAYOUT) a->vhost_layout = v;
			else if (c == O_TAG) a->tag_len = v;
			else if (c == O_RESULT) a->result_len = v;
			else if (c == O_OUTLEN) a->out_len = v;
			else if (c == O_SPLIT) a->split = v;
			else if (c == O_QUEUE) a->queue = v;
			else if (c == O_ALGID) a->alg_id = v;
			else if (c == O_COFF) a->cipher_off = v;
			else if (c == O_CLEN) a->cipher_len = v;
			else if (c == O_HOFF) a->hash_off = v;
			else if (c == O_HLEN) a->hash_len = v;
			else if (c == O_REPS) a->reps = v;
			break;
		}
	}
	if (optind != argc)
		return usage_err("unexpected argument %s", argv[optind]);
	if (a->vhost_layout != 632 && a->vhost_layout != 1072)
		return usage_err("--vhost-layout is 632 or 1072");
	return 0;
}

static int unhex(const char *hex, uint8_t **ret, size_t *len)
{
	size_t n = hex ? strlen(hex) : 0;
	*ret = NULL;
	*len = 0;
	if (n % 2)
		return -EINVAL;
	uint8_t *b = malloc(n / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			free(b);
			return -EINVAL;
		}
		b[i] = (uint8_t)v;
	}
	*ret = b;
	*len = n / 2;
	return 0;
}

static int read_all(FILE *f, uint8_t **ret, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= IN_MAX) {
				free(b);
				return -EFBIG;
			}
			cap *= 2;
			uint8_t *nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		size_t k = fread(b + n, 1, cap - n, f);
		if (k == 0)
			break;
		n += k;
	}
	*ret = b;
	*len = n;
	return 0;
}

static int read_file(const char *path, uint8_t **ret, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	int r = read_all(f, ret, len);
	fclose(f);
	return r;
}

/* ---- one operation ------------------------------------------------------------------ */

/* What an operation needs, whatever the service (see kat_data_req in the device tests). */
struct cc_op {
	uint32_t service, opcode, algo, op;
	uint8_t *key, *auth_key, *iv, *aad, *src;
	size_t key_len, auth_key_len, iv_len, aad_len, src_len;
	uint32_t dst_len, result_len, tag_len;
	/* chain */
	uint32_t hash_mode, hash_algo, order, cs, lc, hs, lh;
	/* akcipher */
	uint32_t key_type, para0, para1;
	size_t extra_src; /* verify: digest bytes after the signature */
};

static uint32_t destroy_opcode(uint32_t service)
{
	static const uint32_t o[] = {VC_CIPHER_DESTROY_SESSION, VC_HASH_DESTROY_SESSION,
				     VC_MAC_DESTROY_SESSION, VC_AEAD_DESTROY_SESSION,
				     VC_AKCIPHER_DESTROY_SESSION};
	return service < VT_ARRAY_SIZE(o) ? o[service] : VC_CIPHER_DESTROY_SESSION;
}

static int ctrl_session(struct cp_conn *c, const struct cc_op *o, uint64_t *id)
{
	uint8_t h[VCB_HDR_MAX];
	size_t hl;
	uint8_t keys[16384];
	size_t kl = 0;
	uint64_t f = c->features;
	switch (o->service) {
	case VC_SERVICE_CIPHER:
		if (o->hash_mode)
			hl = vcb_ctrl_chain(h, f, o->order, o->hash_mode, o->algo, (uint32_t)o->key_len,
					    o->op, o->hash_algo, o->result_len,
					    (uint32_t)o->auth_key_len, (uint32_t)o->aad_len);
		else
			hl = vcb_ctrl_cipher(h, f, o->algo, (uint32_t)o->key_len, o->op);
		break;
	case VC_SERVICE_HASH:
		hl = vcb_ctrl_hash(h, f, o->algo, o->result_len);
		break;
	case VC_SERVICE_MAC:
		hl = vcb_ctrl_mac(h, f, o->algo, o->result_len, (uint32_t)o->key_len);
		break;
	case VC_SERVICE_AEAD:
		hl = vcb_ctrl_aead(h, f, o->algo, (uint32_t)o->key_len, o->tag_len,
				   (uint32_t)o->aad_len, o->op);
		break;
	default:
		hl = vcb_ctrl_akcipher(h, f, o->algo, o->key_type, (uint32_t)o->key_len, o->para0,
				       o->para1);
		break;
	}
	if (o->service != VC_SERVICE_HASH) {
		if (o->key_len + o->auth_key_len > sizeof(keys))
			return -E2BIG;
		memcpy(keys, o->key, o->key_len);
		if (o->auth_key_len)
			memcpy(keys + o->key_len, o->auth_key, o->auth_key_len);
		kl = o->key_len + o->auth_key_len;
	}
	int st = cp_ctrl_create(c, h, hl, keys, kl, id);
	OPENSSL_cleanse(keys, sizeof(keys));
	return st;
}

/* CREATE_CRYPTO_SESSION as QEMU does: 0..6 status, <0 transport. */
static int vhost_session(struct cp_conn *c, const struct cc_op *o, long layout, uint64_t *id)
{
	static struct vc_vu_session_new nw;
	struct vc_vu_session_72 old;
	struct vc_vu_sym_info *info;
	uint8_t *key, *auth_key;
	memset(&old, 0, sizeof(old));
	memset(&nw, 0, sizeof(nw));
	if (o->service == VC_SERVICE_AKCIPHER) {
		if (layout != 1072 || o->key_len > VC_VU_ASYM_KEY_MAX)
			return -EINVAL;
		nw.op_code = VC_AKCIPHER_CREATE_SESSION;
		nw.u.asym.info.algo = o->algo;
		nw.u.asym.info.key_type = o->key_type;
		nw.u.asym.info.key_len = (uint32_t)o->key_len;
		nw.u.asym.info.padding_algo = o->para0;
		nw.u.asym.info.hash_algo = o->para1;
		memcpy(nw.u.asym.key, o->key, o->key_len);
	} else {
		if (o->service != VC_SERVICE_CIPHER)
			return -EINVAL; /* QEMU forwards only cipher and chained sessions */
		if (o->key_len > VC_VU_SYM_KEY_MAX || o->auth_key_len > VC_VU_SYM_AUTH_KEY_MAX)
			return -EINVAL;
		nw.op_code = VC_CIPHER_CREATE_SESSION;
		info = layout == 632 ? &old.info : &nw.u.sym.info;
		key = layout == 632 ? old.key : nw.u.sym.key;
		auth_key = layout == 632 ? old.auth_key : nw.u.sym.auth_key;
		info->cipher_alg = o->algo;
		info->key_len = (uint32_t)o->key_len;
		info->op_type = o->hash_mode ? VC_SYM_OP_ALGORITHM_CHAINING : VC_SYM_OP_CIPHER;
		info->direction = (uint8_t)o->op;
		info->hash_mode = (uint8_t)o->hash_mode;
		info->alg_chain_order = (uint8_t)o->order;
		info->hash_alg = o->hash_algo;
		info->hash_result_len = o->result_len;
		info->auth_key_len = (uint32_t)o->auth_key_len;
		info->add_len = (uint32_t)o->aad_len;
		info->cipher_key_ptr = 0x7f5a5a5a5000ull; /* QEMU copies its heap pointers too */
		memcpy(key, o->key, o->key_len);
		if (o->auth_key_len)
			memcpy(auth_key, o->auth_key, o->auth_key_len);
	}
	int64_t sid = -1;
	int r = cp_vhost_create(c, layout == 632 ? (void *)&old : (void *)&nw, (uint32_t)layout, &sid);
	OPENSSL_cleanse(&old, sizeof(old));
	OPENSSL_cleanse(&nw, sizeof(nw));
	if (r < 0)
		return r;
	if (sid < 0)
		return sid >= -(int64_t)VC_NSTATUS ? (int)-sid : VC_ERR;
	*id = (uint64_t)sid;
	return VC_OK;
}

static int run_op(struct probe_ctx *ctx, const struct cc_args *a, struct cc_op *o)
{
	struct fe_dev_opts opts = ctx->dev;
	bool qemu = a->vhost;
	if (qemu) { /* QEMU 7.2's cryptodev-vhost-user, exactly */
		opts.feat_mode = FE_FEAT_EXACT;
		opts.features = FE_FEATURES_QEMU72_CRYPTO;
		opts.ring_features_set = true;
		opts.ring_features = VT_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VT_BIT(VIRTIO_RING_F_EVENT_IDX);
		opts.no_vring_enable = true;
		opts.nvqs = 1;
	} else if (opts.feat_mode == FE_FEAT_AUTO) {
		opts.device_features &= ~(uint64_t)CP_DRIVER_FEATURES;
		if (a->rev1_only)
			opts.device_features |= VT_BIT(VC_F_REVISION_1);
		else if (!a->legacy)
			opts.device_features |= CP_DRIVER_FEATURES;
	}
	struct cp_conn c;
	if (cp_open(&opts, qemu, &c) < 0) {
		fprintf(stderr, "crypto: %s\n", c.error);
		return 1;
	}
	c.split = (size_t)a->split;
	c.in_place = a->in_place;
	int rc = 1;
	uint64_t id = a->session_id;
	bool created = false;
	int st = VC_OK;
	if (!a->stateless && !a->session_id_set) {
		st = qemu ? vhost_session(&c, o, a->vhost_layout, &id) : ctrl_session(&c, o, &id);
		if (st < 0) {
			fprintf(stderr, "crypto: session: %s\n", st == -EINVAL ? "not expressible in "
								      "this layout" : c.error);
			goto out;
		}
		if (st != VC_OK) {
			fprintf(stderr, "status=%s (session create)\n", cp_status_name((unsigned)st));
			rc = 10 + st;
			goto out;
		}
		created = true;
		if (ctx->verbose)
			fprintf(stderr, "session id %llu\n", (unsigned long long)id);
	}
	struct vcb_data q = {
		.opcode = o->opcode, .session_id = id, .stateless = a->stateless,
		.sym_op = o->hash_mode ? VC_SYM_OP_ALGORITHM_CHAINING : VC_SYM_OP_CIPHER,
		.iv_len = (uint32_t)o->iv_len, .src_len = (uint32_t)o->src_len, .dst_len = o->dst_len,
		.aad_len = (uint32_t)o->aad_len, .tag_len = o->tag_len,
		.hash_result_len = o->result_len, .cipher_start = o->cs, .len_to_cipher = o->lc,
		.hash_start = o->hs, .len_to_hash = o->lh, .algo = o->algo,
		.key_len = (uint32_t)o->key_len, .op = o->op, .hash_algo = o->hash_algo,
		.hash_mode = o->hash_mode, .chain_order = o->order,
		.auth_key_len = (uint32_t)o->auth_key_len, .key_type = o->key_type,
		.para0 = o->para0, .para1 = o->para1};
	if (o->service == VC_SERVICE_MAC)
		q.auth_key_len = (uint32_t)o->key_len;
	if (o->service == VC_SERVICE_AKCIPHER) {
		q.src_len = (uint32_t)(o->src_len - o->extra_src);
		q.dst_len = o->extra_src ? (uint32_t)o->extra_src : o->dst_len;
	}
	size_t rd_cap = VCB_HDR_MAX + o->key_len + o->auth_key_len + o->iv_len + o->aad_len + o->src_len;
	uint8_t *rd = malloc(rd_cap);
	size_t wr_len = (o->opcode == VC_AKCIPHER_VERIFY ? 0 : o->dst_len) + 1;
	if (o->service == VC_SERVICE_HASH || o->service == VC_SERVICE_MAC ||
	    (o->service == VC_SERVICE_CIPHER && o->hash_mode))
		wr_len += o->result_len;
	uint8_t *out = malloc(wr_len);
	if (!rd || !out) {
		free(rd);
		free(out);
		goto out;
	}
	size_t n = vcb_data_hdr(rd, c.features, &q);
	bool mac_sl = a->stateless && o->service == VC_SERVICE_MAC;
	if (a->stateless && o->service != VC_SERVICE_HASH) {
		memcpy(rd + n, o->key, o->key_len);
		n += o->key_len;
		if (!mac_sl && o->auth_key_len) {
			memcpy(rd + n, o->auth_key, o->auth_key_len);
			n += o->auth_key_len;
		}
	}
	if (o->iv_len)
		memcpy(rd + n, o->iv, o->iv_len);
	n += o->iv_len;
	bool aad_first = a->stateless && o->service == VC_SERVICE_CIPHER && o->hash_mode;
	if (aad_first && o->aad_len)
		memcpy(rd + n, o->aad, o->aad_len), n += o->aad_len;
	if (o->src_len)
		memcpy(rd + n, o->src, o->src_len);
	n += o->src_len;
	if (!aad_first && o->aad_len)
		memcpy(rd + n, o->aad, o->aad_len), n += o->aad_len;
	uint32_t used = 0;
	int r = cp_submit(&c, (unsigned)a->queue, rd, n, wr_len, out, &used);
	OPENSSL_cleanse(rd, rd_cap);
	free(rd);
	if (r < 0) {
		fprintf(stderr, "crypto: %s\n", c.error);
		free(out);
		goto out;
	}
	st = out[wr_len - 1];
	fprintf(stderr, "status=%s used=%u\n", cp_status_name((unsigned)st), used);
	if (st == VC_OK) {
		size_t outn = wr_len - 1;
		if (o->service == VC_SERVICE_AKCIPHER)
			outn = used ? used - 1 : 0; /* the device reports the result length */
		else if (o->service == VC_SERVICE_AEAD)
			outn = o->op == VC_OP_ENCRYPT ? o->src_len + o->tag_len : o->src_len - o->tag_len;
		if (outn > wr_len - 1 || fwrite(out, 1, outn, stdout) != outn) {
			free(out);
			goto out;
		}
		fflush(stdout);
	}
	free(out);
	rc = st == VC_OK ? 0 : 10 + st;
out:
	if (created && !a->keep)
		cp_drop(&c, destroy_opcode(o->service), id);
	if (created && a->keep)
		fprintf(stderr, "session=%llu\n", (unsigned long long)id);
	cp_close(&c);
	return rc;
}

/* ---- subcommands ----------------------------------------------------------------------- */

static int need(const char *v, const char *what)
{
	if (!v) {
		fprintf(stderr, "crypto: %s is required\n", what);
		return 2;
	}
	return 0;
}

static int sym_inputs(const struct cc_args *a, struct cc_op *o, bool want_iv)
{
	if (unhex(a->key, &o->key, &o->key_len) < 0 || unhex(a->iv, &o->iv, &o->iv_len) < 0 ||
	    unhex(a->aad, &o->aad, &o->aad_len) < 0 ||
	    unhex(a->auth_key, &o->auth_key, &o->auth_key_len) < 0)
		return usage_err("bad hex in --key/--iv/--aad/--auth-key");
	(void)want_iv;
	if (read_all(stdin, &o->src, &o->src_len) < 0)
		return usage_err("cannot read stdin");
	return 0;
}

static void op_free(struct cc_op *o)
{
	if (o->key)
		OPENSSL_cleanse(o->key, o->key_len);
	if (o->auth_key)
		OPENSSL_cleanse(o->auth_key, o->auth_key_len);
	free(o->key);
	free(o->auth_key);
	free(o->iv);
	free(o->aad);
	free(o->src);
}

static int cmd_sym(struct probe_ctx *ctx, const char *sub, const struct cc_args *a)
{
	struct cc_op o = {0};
	int r = need(a->alg, "--alg");
	if (r)
		return r;
	if (!strcmp(sub, "cipher") || !strcmp(sub, "chain") || !strcmp(sub, "aead")) {
		if (a->enc < 0)
			return usage_err("--encrypt or --decrypt is required");
		o.op = a->enc ? VC_OP_ENCRYPT : VC_OP_DECRYPT;
	}
	if ((r = sym_inputs(a, &o, true)))
		return r;
	if (!strcmp(sub, "cipher") || !strcmp(sub, "chain")) {
		o.service = VC_SERVICE_CIPHER;
		if (cipher_id(a->alg, &o.algo) < 0 && a->alg_id < 0) {
			op_free(&o);
			return usage_err("unknown cipher %s", a->alg);
		}
		o.opcode = a->enc ? VC_CIPHER_ENCRYPT : VC_CIPHER_DECRYPT;
		o.dst_len = (uint32_t)o.src_len;
		if (!strcmp(sub, "chain")) {
			if (a->mac) {
				o.hash_mode = VC_SYM_HASH_MODE_AUTH;
				r = lookup(mac_names, VT_ARRAY_SIZE(mac_names), a->mac, &o.hash_algo);
			} else if (a->hash) {
				o.hash_mode = VC_SYM_HASH_MODE_PLAIN;
				r = lookup(hash_names, VT_ARRAY_SIZE(hash_names), a->hash, &o.hash_algo);
			} else {
				r = -EINVAL;
			}
			if (r < 0) {
				op_free(&o);
				return usage_err("chain needs --mac or --hash with a known name");
			}
			o.order = a->order && !strcmp(a->order, "hash-then-cipher")
					  ? VC_SYM_ALG_CHAIN_ORDER_HASH_THEN_CIPHER
					  : VC_SYM_ALG_CHAIN_ORDER_CIPHER_THEN_HASH;
			o.cs = a->cipher_off >= 0 ? (uint32_t)a->cipher_off : 0;
			o.lc = a->cipher_len >= 0 ? (uint32_t)a->cipher_len : (uint32_t)o.src_len - o.cs;
			o.hs = a->hash_off >= 0 ? (uint32_t)a->hash_off : 0;
			o.lh = a->hash_len >= 0 ? (uint32_t)a->hash_len : (uint32_t)o.src_len - o.hs;
			o.result_len = (uint32_t)a->result_len;
			if (!o.result_len) { /* the full digest: ask OpenSSL how long it is */
				const char *h = a->mac ? a->mac + 5 : a->hash;
				const EVP_MD *md = EVP_get_digestbyname(!strcmp(h, "aes") ? "sha1" : h);
				o.result_len = !strcmp(a->mac ? a->mac : "", "cmac-aes") ? 16
					       : md ? (uint32_t)EVP_MD_get_size(md) : 32;
			}
		} else {
			o.aad_len = 0;
		}
	} else if (!strcmp(sub, "hash")) {
		o.service = VC_SERVICE_HASH;
		o.opcode = VC_HASH;
		if (lookup(hash_names, VT_ARRAY_SIZE(hash_names), a->alg, &o.algo) < 0 &&
		    a->alg_id < 0) {
			op_free(&o);
			return usage_err("unknown hash %s", a->alg);
		}
		const EVP_MD *md = EVP_get_digestbyname(a->alg);
		o.result_len = a->result_len ? (uint32_t)a->result_len
					     : md ? (uint32_t)EVP_MD_get_size(md) : 32;
	} else if (!strcmp(sub, "mac")) {
		o.service = VC_SERVICE_MAC;
		o.opcode = VC_MAC;
		if (lookup(mac_names, VT_ARRAY_SIZE(mac_names), a->alg, &o.algo) < 0 && a->alg_id < 0) {
			op_free(&o);
			return usage_err("unknown mac %s", a->alg);
		}
		const EVP_MD *md = strncmp(a->alg, "hmac-", 5) ? NULL : EVP_get_digestbyname(a->alg + 5);
		o.result_len = a->result_len ? (uint32_t)a->result_len
					     : md ? (uint32_t)EVP_MD_get_size(md) : 16;
	} else { /* aead */
		o.service = VC_SERVICE_AEAD;
		o.opcode = a->enc ? VC_AEAD_ENCRYPT : VC_AEAD_DECRYPT;
		if (aead_id(a->alg, &o.algo) < 0 && a->alg_id < 0) {
			op_free(&o);
			return usage_err("unknown aead %s", a->alg);
		}
		if (a->tag_len < 0) {
			op_free(&o);
			return usage_err("--tag-len is required");
		}
		o.tag_len = (uint32_t)a->tag_len;
		if (!a->enc && o.src_len < o.tag_len) {
			op_free(&o);
			return usage_err("input shorter than the tag");
		}
		o.dst_len = a->enc ? (uint32_t)(o.src_len + o.tag_len)
				   : (uint32_t)(o.src_len - o.tag_len);
	}
	if (a->alg_id >= 0)
		o.algo = (uint32_t)a->alg_id;
	r = run_op(ctx, a, &o);
	op_free(&o);
	return r;
}

static int cmd_ak(struct probe_ctx *ctx, const char *sub, const struct cc_args *a)
{
	struct cc_op o = {.service = VC_SERVICE_AKCIPHER};
	int r = need(a->alg, "--alg");
	if (r || (r = need(a->key_file, "--key-file")))
		return r;
	if (!strcmp(a->alg, "rsa"))
		o.algo = VC_AKCIPHER_RSA;
	else if (!strcmp(a->alg, "ecdsa"))
		o.algo = VC_AKCIPHER_ECDSA;
	else if (a->alg_id < 0)
		return usage_err("unknown akcipher %s (rsa, ecdsa)", a->alg);
	if (a->alg_id >= 0)
		o.algo = (uint32_t)a->alg_id;
	o.key_type = a->public_key ? VC_AKCIPHER_KEY_TYPE_PUBLIC : VC_AKCIPHER_KEY_TYPE_PRIVATE;
	if (o.algo == VC_AKCIPHER_RSA) {
		o.para0 = a->padding && !strcmp(a->padding, "raw") ? VC_RSA_RAW_PADDING
								   : VC_RSA_PKCS1_PADDING;
		if (lookup(rsa_hash_names, VT_ARRAY_SIZE(rsa_hash_names),
			   a->rsa_hash ? a->rsa_hash : "none", &o.para1) < 0)
			return usage_err("unknown --rsa-hash %s", a->rsa_hash);
	} else if (lookup(curve_names, VT_ARRAY_SIZE(curve_names), a->curve ? a->curve : "unknown",
			  &o.para0) < 0) {
		return usage_err("unknown --curve %s", a->curve);
	}
	if (read_file(a->key_file, &o.key, &o.key_len) < 0)
		return usage_err("cannot read %s", a->key_file);
	uint8_t *in = NULL;
	size_t in_len = 0;
	if (read_all(stdin, &in, &in_len) < 0) {
		op_free(&o);
		return usage_err("cannot read stdin");
	}
	o.dst_len = (uint32_t)a->out_len;
	if (!strcmp(sub, "verify")) {
		uint8_t *sig = NULL;
		size_t sl = 0;
		if (!a->sig_file || read_file(a->sig_file, &sig, &sl) < 0) {
			free(in);
			op_free(&o);
			return usage_err("verify needs --signature FILE");
		}
		o.src = malloc(sl + in_len + 1);
		memcpy(o.src, sig, sl);
		memcpy(o.src + sl, in, in_len);
		o.src_len = sl + in_len;
		o.extra_src = in_len; /* the digest, after the signature */
		o.dst_len = 0;
		free(sig);
		free(in);
		o.opcode = VC_AKCIPHER_VERIFY;
	} else {
		o.src = in;
		o.src_len = in_len;
		o.opcode = !strcmp(sub, "sign")      ? VC_AKCIPHER_SIGN
			   : !strcmp(sub, "encrypt") ? VC_AKCIPHER_ENCRYPT
						     : VC_AKCIPHER_DECRYPT;
	}
	struct cc_args a2 = *a;
	if (a2.vhost)
		a2.vhost_layout = 1072; /* only newer QEMU forwards akcipher sessions */
	r = run_op(ctx, &a2, &o);
	op_free(&o);
	return r;
}


static int run_crypto(struct probe_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: crypto cipher|hash|mac|aead|chain|sign|verify|encrypt|decrypt|"
				"bench [options] (see --help of the command file header)\n");
		return 2;
	}
	const char *sub = argv[1];
	struct cc_args a;
	int r = parse_args(argc - 1, argv + 1, &a);
	if (r)
		return r;
	if (!strcmp(sub, "cipher") || !strcmp(sub, "hash") || !strcmp(sub, "mac") ||
	    !strcmp(sub, "aead") || !strcmp(sub, "chain"))
		return cmd_sym(ctx, sub, &a);
	if (!strcmp(sub, "sign") || !strcmp(sub, "verify") || !strcmp(sub, "encrypt") ||
	    !strcmp(sub, "decrypt"))
		return cmd_ak(ctx, sub, &a);
	if (!strcmp(sub, "bench"))
		return crypto_bench(ctx, &a);
	return usage_err("unknown subcommand %s", sub);
}

const struct probe_cmd probe_cmd_crypto = {
	.name = "crypto",
	.args = "SUBCOMMAND [...]",
	.summary = "virtio-crypto: cipher/hash/mac/aead/chain/sign/verify/encrypt/decrypt, bench",
	.run = run_crypto,
};
