/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NIST CAVP AES-GCM vectors (gcmEncryptExtIV{128,192,256}.rsp and
 * gcmDecrypt{128,192,256}.rsp, CAVS 14.0: IVs of 8, 96 and 1024 bits, tags
 * of 32..128 bits, FAIL cases) through the device's real request path, in
 * the layouts of kat.h (legacy, REVISION_1, mux session, stateless; one
 * segment, tiny segments, indirect, in place, extra dst).
 *
 * Each IV goes two ways, as the spec lets a driver send it: as itself
 * (iv_len = its length; OpenSSL takes 1..128 bytes) and as J0 (iv_len 16:
 * J0 = GHASH_H(IV || 0^s || [len]_64), computed here with OpenSSL's AES
 * and this file's own GHASH, independent of the device's gcm_j0.c).
 * Encrypt vectors are also decrypted; decrypt vectors marked FAIL must
 * answer BADMSG.
 *
 * usage: test_crypto_cavp DIR [STRIDE]   DIR holds the .rsp files (Debian:
 * python3-cryptography-vectors, .../cryptography_vectors/ciphers/AES/GCM);
 * exit 77 (skip) when they are not installed. STRIDE n > 1 runs every nth
 * vector in the slow layouts (all vectors always run in legacy, rev1 and
 * stateless).
 */
#include <unistd.h>

#include <openssl/evp.h>

#include "kat.h"

struct vec {
	uint8_t key[32], iv[128], pt[64], ct[80], aad[128], tag[16];
	size_t kl, il, pl, al, tl;
	bool fail, has_pt;
};

struct tally {
	unsigned long cases, fails;
};

static struct result res;
static struct tally tally[VT_ARRAY_SIZE(kat_layouts)][2]; /* [layout][raw iv / j0] */

/* ---- GHASH (SP 800-38D), written independently of the device's ---------- */

static void gf_mul_bytes(uint8_t x[16], const uint8_t y[16])
{
	uint8_t z[16] = {0}, v[16];
	memcpy(v, y, 16);
	for (int i = 0; i < 128; i++) {
		if (x[i / 8] & (0x80 >> (i % 8)))
			for (int k = 0; k < 16; k++)
				z[k] ^= v[k];
		bool lsb = v[15] & 1;
		for (int k = 15; k > 0; k--)
			v[k] = (uint8_t)((v[k] >> 1) | (v[k - 1] << 7));
		v[0] >>= 1;
		if (lsb)
			v[0] ^= 0xe1;
	}
	memcpy(x, z, 16);
}

/* J0 of an IV that is not 96 bits long. */
static void j0_of(const uint8_t *key, size_t kl, const uint8_t *iv, size_t il, uint8_t j0[16])
{
	static const uint8_t zero[16];
	uint8_t h[16];
	int outl = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *ecb = kl == 16 ? EVP_aes_128_ecb()
				: kl == 24 ? EVP_aes_192_ecb()
					   : EVP_aes_256_ecb();
	if (!c || !EVP_EncryptInit_ex(c, ecb, NULL, key, NULL) ||
	    !EVP_EncryptUpdate(c, h, &outl, zero, 16))
		abort();
	EVP_CIPHER_CTX_free(c);
	uint8_t y[16] = {0};
	for (size_t off = 0; off < il; off += 16) {
		for (size_t k = 0; k < 16 && off + k < il; k++)
			y[k] ^= iv[off + k];
		gf_mul_bytes(y, h);
	}
	uint64_t bits = (uint64_t)il * 8;
	for (int k = 0; k < 8; k++)
		y[15 - k] ^= (uint8_t)(bits >> (8 * k));
	gf_mul_bytes(y, h);
	memcpy(j0, y, 16);
}

/* ---- Running one vector ------------------------------------------------------ */

static void expect(const struct vec *v, const struct layout *L, const char *what,
		   uint8_t want_st, const uint8_t *want, size_t n, struct tally *t)
{
	t->cases++;
	test_checks++;
	bool ok = res.create_status == VC_OK && res.status == want_st;
	if (ok && want_st == VC_OK) {
		ok = cx_eq(res.out, want, n);
		for (size_t i = n; ok && i + 1 < res.wr_len; i++)
			ok = res.out[i] == CX_CANARY;
	}
	if (want_st == VC_BADMSG)
		t->fails++;
	if (!ok) {
		test_failures++;
		if (test_failures < 20)
			fprintf(stderr,
				"FAIL gcm k%zu iv%zu p%zu a%zu t%zu [%s] %s: create=%u status=%u "
				"want=%u\n",
				v->kl * 8, v->il * 8, v->pl * 8, v->al * 8, v->tl * 8, L->name, what,
				res.create_status, res.status, want_st);
	}
}

static void run_vec(struct cx *x, const struct layout *L, const struct vec *v, bool j0,
		    struct tally *t)
{
	uint8_t ivb[128], ctt[96], bad[96];
	size_t il = v->il;
	memcpy(ivb, v->iv, il);
	if (j0) {
		if (il == 12) { /* the 96-bit IV's J0: IV || 0^31 || 1 */
			ivb[12] = 0, ivb[13] = 0, ivb[14] = 0, ivb[15] = 1;
		} else {
			j0_of(v->key, v->kl, v->iv, v->il, ivb);
		}
		il = 16;
	}
	memcpy(ctt, v->ct, v->pl);
	memcpy(ctt + v->pl, v->tag, v->tl);
	struct op o = {.service = VC_SERVICE_AEAD, .algo = VC_AEAD_GCM, .key = v->key,
		       .key_len = (uint32_t)v->kl, .iv = ivb, .iv_len = (uint32_t)il,
		       .aad = v->aad, .aad_len = (uint32_t)v->al, .tag_len = (uint32_t)v->tl};
	if (v->has_pt) {
		o.opcode = VC_AEAD_ENCRYPT;
		o.op = VC_OP_ENCRYPT;
		o.src = v->pt;
		o.src_len = (uint32_t)v->pl;
		o.dst_len = (uint32_t)(v->pl + v->tl);
		kat_run(x, L, &o, &res);
		expect(v, L, "encrypt", VC_OK, ctt, v->pl + v->tl, t);
	}
	o.opcode = VC_AEAD_DECRYPT;
	o.op = VC_OP_DECRYPT;
	o.src = ctt;
	o.src_len = (uint32_t)(v->pl + v->tl);
	o.dst_len = (uint32_t)v->pl;
	kat_run(x, L, &o, &res);
	expect(v, L, "decrypt", v->fail ? VC_BADMSG : VC_OK, v->pt, v->pl, t);
	if (!v->fail) { /* and a forged tag */
		memcpy(bad, ctt, v->pl + v->tl);
		bad[v->pl] ^= 0x40;
		o.src = bad;
		kat_run(x, L, &o, &res);
		expect(v, L, "decrypt-forged", VC_BADMSG, NULL, 0, t);
	}
}

/* ---- The .rsp files ------------------------------------------------------------ */

static int nib(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static size_t field(const char *line, const char *name, uint8_t *out, size_t cap)
{
	size_t n = strlen(name), k = 0;
	if (strncmp(line, name, n) || strncmp(line + n, " = ", 3))
		return SIZE_MAX;
	for (const char *p = line + n + 3; nib(p[0]) >= 0 && nib(p[1]) >= 0; p += 2) {
		if (k == cap)
			abort();
		out[k++] = (uint8_t)(nib(p[0]) << 4 | nib(p[1]));
	}
	return k;
}

static struct vec *vecs;
static size_t nvecs, capvecs;

static int read_rsp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[2048];
	struct vec v;
	bool open = false;
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);
		if (eof || line[0] == '\n' || line[0] == '\r' || !strncmp(line, "Count = ", 8)) {
			if (open && v.tl) {
				if (nvecs == capvecs) {
					capvecs = capvecs ? 2 * capvecs : 1024;
					vecs = realloc(vecs, capvecs * sizeof(*vecs));
					if (!vecs)
						abort();
				}
				vecs[nvecs++] = v;
			}
			open = false;
			if (eof)
				break;
			if (!strncmp(line, "Count = ", 8)) {
				memset(&v, 0, sizeof(v));
				open = true;
			}
			continue;
		}
		if (!open)
			continue;
		size_t n;
		if ((n = field(line, "Key", v.key, sizeof(v.key))) != SIZE_MAX)
			v.kl = n;
		else if ((n = field(line, "IV", v.iv, sizeof(v.iv))) != SIZE_MAX)
			v.il = n;
		else if ((n = field(line, "PT", v.pt, sizeof(v.pt))) != SIZE_MAX)
			v.pl = n, v.has_pt = true;
		else if ((n = field(line, "CT", v.ct, sizeof(v.ct))) != SIZE_MAX)
			v.pl = n;
		else if ((n = field(line, "AAD", v.aad, sizeof(v.aad))) != SIZE_MAX)
			v.al = n;
		else if ((n = field(line, "Tag", v.tag, sizeof(v.tag))) != SIZE_MAX)
			v.tl = n;
		else if (!strncmp(line, "FAIL", 4))
			v.fail = true;
	}
	fclose(f);
	return 0;
}

/* Layouts that always run every vector: one per mode (legacy, session, stateless). */
static bool full_layout(const char *name)
{
	return !strcmp(name, "legacy") || !strcmp(name, "rev1") || !strcmp(name, "mux-session") ||
	       !strcmp(name, "stateless");
}

int main(int argc, char **argv)
{
	vt_log_set_level(VT_LOG_ERR);
	if (argc < 2) {
		fprintf(stderr, "usage: %s RSP_DIR [STRIDE]\n", argv[0]);
		return 2;
	}
	unsigned stride = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1;
	static const char *const files[] = {
		"gcmEncryptExtIV128.rsp", "gcmEncryptExtIV192.rsp", "gcmEncryptExtIV256.rsp",
		"gcmDecrypt128.rsp",      "gcmDecrypt192.rsp",      "gcmDecrypt256.rsp",
	};
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", argv[1], files[0]);
	if (access(path, R_OK) != 0) {
		printf("SKIP: no CAVP GCM files in %s (apt-get install python3-cryptography-vectors)\n",
		       argv[1]);
		return 77;
	}
	for (size_t fi = 0; fi < VT_ARRAY_SIZE(files); fi++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], files[fi]);
		if (read_rsp(path) < 0) {
			fprintf(stderr, "cannot read %s\n", path);
			return 1;
		}
	}
	/* The files hold 47250 vectors (7875 each): IVs of 8, 96 and 1024 bits. */
	CHECK_EQ(nvecs, 47250);
	unsigned long by_iv[3] = {0}, fails = 0;
	for (size_t i = 0; i < nvecs; i++) {
		by_iv[vecs[i].il == 1 ? 0 : vecs[i].il == 12 ? 1 : 2]++;
		fails += vecs[i].fail;
	}
	printf("CAVP GCM: %zu vectors (IV 8 bits: %lu, 96: %lu, 1024: %lu; FAIL: %lu)\n", nvecs,
	       by_iv[0], by_iv[1], by_iv[2], fails);
	CHECK(by_iv[0] && by_iv[1] && by_iv[2] && fails);
	struct vc_opts o;
	cx_opts(&o);
	for (size_t li = 0; li < VT_ARRAY_SIZE(kat_layouts); li++) {
		const struct layout *L = &kat_layouts[li];
		struct cx x;
		cx_init(&x, &o, L->feat);
		unsigned st = full_layout(L->name) ? 1 : stride;
		int before = test_failures;
		for (size_t i = 0; i < nvecs; i += st) {
			run_vec(&x, L, &vecs[i], false, &tally[li][0]);
			run_vec(&x, L, &vecs[i], true, &tally[li][1]);
		}
		CHECK_EQ(vc_table_used(&x.d->table), 0);
		printf("%s cavp-gcm-%s: %lu cases with the IV as is, %lu with J0 (%lu BADMSG)\n",
		       test_failures == before ? "PASS" : "FAIL", L->name, tally[li][0].cases,
		       tally[li][1].cases, tally[li][0].fails + tally[li][1].fails);
		cx_free(&x);
	}
	free(vecs);
	TEST_DONE();
}
