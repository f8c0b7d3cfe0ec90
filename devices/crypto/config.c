/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Options, the OpenSSL library context, the algorithm tables and the EVP
 * objects fetched once per device, and the config space built from them.
 *
 * An algorithm is advertised exactly when (a) this file implements it, (b)
 * the operator's `algorithms` list allows it (default: all) and (c) the
 * configured library context / provider / property query can fetch at least
 * one of its key-size variants. A service is advertised when one of its
 * algorithms is.
 */
#include <inttypes.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "crypto_dev.h"
#include "log.h"

/* ---- Algorithm tables ----------------------------------------------------- */

const struct vc_cipher_alg vc_cipher_algs[] = {
	{VC_CIPHER_AES_ECB, "aes-ecb", VC_MODE_BLOCK, 16, 0,
	 {{16, "AES-128-ECB"}, {24, "AES-192-ECB"}, {32, "AES-256-ECB"}}},
	{VC_CIPHER_AES_CBC, "aes-cbc", VC_MODE_BLOCK, 16, 16,
	 {{16, "AES-128-CBC"}, {24, "AES-192-CBC"}, {32, "AES-256-CBC"}}},
	{VC_CIPHER_AES_CTR, "aes-ctr", VC_MODE_STREAM, 1, 16,
	 {{16, "AES-128-CTR"}, {24, "AES-192-CTR"}, {32, "AES-256-CTR"}}},
	{VC_CIPHER_AES_XTS, "aes-xts", VC_MODE_ONESHOT, 16, 16,
	 {{32, "AES-128-XTS"}, {64, "AES-256-XTS"}, {0, NULL}}},
	{VC_CIPHER_3DES_ECB, "3des-ecb", VC_MODE_BLOCK, 8, 0,
	 {{24, "DES-EDE3-ECB"}, {16, "DES-EDE-ECB"}, {0, NULL}}},
	{VC_CIPHER_3DES_CBC, "3des-cbc", VC_MODE_BLOCK, 8, 8,
	 {{24, "DES-EDE3-CBC"}, {16, "DES-EDE-CBC"}, {0, NULL}}},
};
const size_t vc_ncipher_algs = VT_ARRAY_SIZE(vc_cipher_algs);

const struct vc_hash_alg vc_hash_algs[] = {
	{VC_HASH_SHA1, "sha1", "SHA1", 20},
	{VC_HASH_SHA_224, "sha224", "SHA2-224", 28},
	{VC_HASH_SHA_256, "sha256", "SHA2-256", 32},
	{VC_HASH_SHA_384, "sha384", "SHA2-384", 48},
	{VC_HASH_SHA_512, "sha512", "SHA2-512", 64},
	{VC_HASH_SHA3_224, "sha3-224", "SHA3-224", 28},
	{VC_HASH_SHA3_256, "sha3-256", "SHA3-256", 32},
	{VC_HASH_SHA3_384, "sha3-384", "SHA3-384", 48},
	{VC_HASH_SHA3_512, "sha3-512", "SHA3-512", 64},
};
const size_t vc_nhash_algs = VT_ARRAY_SIZE(vc_hash_algs);

const struct vc_mac_alg vc_mac_algs[] = {
	{VC_MAC_HMAC_SHA1, "hmac-sha1", VC_MAC_KIND_HMAC, VC_HASH_SHA1, {{0, NULL}}},
	{VC_MAC_HMAC_SHA_224, "hmac-sha224", VC_MAC_KIND_HMAC, VC_HASH_SHA_224, {{0, NULL}}},
	{VC_MAC_HMAC_SHA_256, "hmac-sha256", VC_MAC_KIND_HMAC, VC_HASH_SHA_256, {{0, NULL}}},
	{VC_MAC_HMAC_SHA_384, "hmac-sha384", VC_MAC_KIND_HMAC, VC_HASH_SHA_384, {{0, NULL}}},
	{VC_MAC_HMAC_SHA_512, "hmac-sha512", VC_MAC_KIND_HMAC, VC_HASH_SHA_512, {{0, NULL}}},
	{VC_MAC_CMAC_AES, "cmac-aes", VC_MAC_KIND_CMAC, 0,
	 {{16, "AES-128-CBC"}, {24, "AES-192-CBC"}, {32, "AES-256-CBC"}}},
};
const size_t vc_nmac_algs = VT_ARRAY_SIZE(vc_mac_algs);

const struct vc_aead_alg vc_aead_algs[] = {
	{VC_AEAD_GCM, "aes-gcm", VC_AEAD_KIND_GCM,
	 {{16, "AES-128-GCM"}, {24, "AES-192-GCM"}, {32, "AES-256-GCM"}}},
	{VC_AEAD_CCM, "aes-ccm", VC_AEAD_KIND_CCM,
	 {{16, "AES-128-CCM"}, {24, "AES-192-CCM"}, {32, "AES-256-CCM"}}},
	{VC_AEAD_CHACHA20_POLY1305, "chacha20-poly1305", VC_AEAD_KIND_CHACHA,
	 {{32, "ChaCha20-Poly1305"}, {0, NULL}, {0, NULL}}},
};
const size_t vc_naead_algs = VT_ARRAY_SIZE(vc_aead_algs);

VT_STATIC_ASSERT(VT_ARRAY_SIZE(vc_cipher_algs) <= 16, "dev->ciphers size");
VT_STATIC_ASSERT(VT_ARRAY_SIZE(vc_hash_algs) <= 16, "dev->mds size");
VT_STATIC_ASSERT(VT_ARRAY_SIZE(vc_mac_algs) <= 16, "dev->mac_enabled size");
VT_STATIC_ASSERT(VT_ARRAY_SIZE(vc_aead_algs) <= 8, "dev->aeads size");

/* PKCS#1 v1.5 DigestInfo hashes by VC_RSA_* value (MD2/MD3/MD4 not offered). */
static const char *const rsa_hash_names[10] = {
	[VC_RSA_MD5] = "MD5",       [VC_RSA_SHA1] = "SHA1",     [VC_RSA_SHA256] = "SHA2-256",
	[VC_RSA_SHA384] = "SHA2-384", [VC_RSA_SHA512] = "SHA2-512", [VC_RSA_SHA224] = "SHA2-224",
};

const struct vc_cipher_alg *vc_cipher_find(uint32_t id, size_t *ret_index)
{
	for (size_t i = 0; i < vc_ncipher_algs; i++)
		if (vc_cipher_algs[i].id == id) {
			if (ret_index)
				*ret_index = i;
			return &vc_cipher_algs[i];
		}
	return NULL;
}

const struct vc_hash_alg *vc_hash_find(uint32_t id, size_t *ret_index)
{
	for (size_t i = 0; i < vc_nhash_algs; i++)
		if (vc_hash_algs[i].id == id) {
			if (ret_index)
				*ret_index = i;
			return &vc_hash_algs[i];
		}
	return NULL;
}

const struct vc_mac_alg *vc_mac_find(uint32_t id, size_t *ret_index)
{
	for (size_t i = 0; i < vc_nmac_algs; i++)
		if (vc_mac_algs[i].id == id) {
			if (ret_index)
				*ret_index = i;
			return &vc_mac_algs[i];
		}
	return NULL;
}

const struct vc_aead_alg *vc_aead_find(uint32_t id, size_t *ret_index)
{
	for (size_t i = 0; i < vc_naead_algs; i++)
		if (vc_aead_algs[i].id == id) {
			if (ret_index)
				*ret_index = i;
			return &vc_aead_algs[i];
		}
	return NULL;
}

EVP_CIPHER *vc_dev_cipher(const struct vc_dev *d, uint32_t id, uint32_t key_len)
{
	size_t i;
	const struct vc_cipher_alg *a = vc_cipher_find(id, &i);
	if (!a)
		return NULL;
	for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
		if (a->var[v].ossl && a->var[v].key_len == key_len)
			return d->ciphers[i][v];
	return NULL;
}

EVP_CIPHER *vc_dev_aead(const struct vc_dev *d, uint32_t id, uint32_t key_len)
{
	size_t i;
	const struct vc_aead_alg *a = vc_aead_find(id, &i);
	if (!a)
		return NULL;
	for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
		if (a->var[v].ossl && a->var[v].key_len == key_len)
			return d->aeads[i][v];
	return NULL;
}

EVP_MD *vc_dev_md(const struct vc_dev *d, uint32_t hash_id)
{
	size_t i;
	return vc_hash_find(hash_id, &i) ? d->mds[i] : NULL;
}

bool vc_dev_hash_enabled(const struct vc_dev *d, uint32_t hash_id)
{
	size_t i;
	return vc_hash_find(hash_id, &i) && d->hash_enabled[i];
}

bool vc_dev_mac_enabled(const struct vc_dev *d, uint32_t mac_id)
{
	size_t i;
	return vc_mac_find(mac_id, &i) && d->mac_enabled[i];
}

bool vc_dev_hash_known(uint32_t id)
{
	return vc_hash_find(id, NULL) != NULL;
}

bool vc_dev_mac_known(uint32_t id)
{
	return vc_mac_find(id, NULL) != NULL;
}

bool vc_dev_service_enabled(const struct vc_dev *d, uint32_t service)
{
	return service < 32 && (d->config.crypto_services & (1u << service));
}

const char *vc_status_name(uint8_t status)
{
	static const char *const names[VC_NSTATUS] = {"OK",      "ERR",     "BADMSG",
						      "NOTSUPP", "INVSESS", "NOSPC",
						      "KEY_REJECTED"};
	return status < VC_NSTATUS ? names[status] : "?";
}

/* ---- Options ---------------------------------------------------------------- */

void vc_opts_default(struct vc_opts *o)
{
	*o = (struct vc_opts){
		.dataqueues = 1,
		.max_sessions = 1024,
		.max_size = 1u << 20,
		.max_cipher_key_len = 64,
		.max_auth_key_len = 512,
		.max_akcipher_key_len = 4096,
		.revision_1 = true,
		.stateless = true,
		.secure_heap = 4u << 20,
	};
}

/* Is name in the comma-separated allow list (NULL or "all" = everything)? */
static bool allowed(const char *list, const char *name)
{
	if (!list || !strcmp(list, "all"))
		return true;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

void vc_algorithm_names(char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
#define LIST(tbl, cnt)                                                                             \
	for (size_t i = 0; i < (cnt) && n < size; i++)                                              \
		n += (size_t)snprintf(out + n, size - n, "%s, ", tbl[i].name);
	LIST(vc_cipher_algs, vc_ncipher_algs)
	LIST(vc_hash_algs, vc_nhash_algs)
	LIST(vc_mac_algs, vc_nmac_algs)
	LIST(vc_aead_algs, vc_naead_algs)
#undef LIST
	if (n < size)
		snprintf(out + n, size - n, "rsa, ecdsa, all");
}

/* Every name in the allow list must be one we know (catches typos). */
int vc_check_algorithms(const char *list, char *why, size_t why_size)
{
	if (!list || !strcmp(list, "all"))
		return 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool ok = false;
#define MATCH(tbl, n)                                                                              \
	for (size_t i = 0; i < (n); i++)                                                           \
		ok |= strlen(tbl[i].name) == len && !strncmp(tbl[i].name, p, len);
		MATCH(vc_cipher_algs, vc_ncipher_algs)
		MATCH(vc_hash_algs, vc_nhash_algs)
		MATCH(vc_mac_algs, vc_nmac_algs)
		MATCH(vc_aead_algs, vc_naead_algs)
#undef MATCH
		ok |= (len == 3 && !strncmp(p, "rsa", 3)) || (len == 5 && !strncmp(p, "ecdsa", 5));
		if (!ok) {
			snprintf(why, why_size, "unknown algorithm '%.*s'", (int)VT_MIN(len, 40), p);
			return -EINVAL;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* ---- OpenSSL ------------------------------------------------------------------ */

static int load_providers(struct vc_dev *d, const char *list)
{
	char *copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	int r = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (d->nproviders == VT_ARRAY_SIZE(d->providers)) {
			vt_err("%s: openssl_providers: at most %zu providers", d->name,
			       VT_ARRAY_SIZE(d->providers));
			r = -EINVAL;
			break;
		}
		OSSL_PROVIDER *p = OSSL_PROVIDER_load(d->libctx, tok);
		if (!p) {
			vt_err("%s: openssl_providers: cannot load provider '%s'", d->name, tok);
			r = -EINVAL;
			break;
		}
		d->providers[d->nproviders++] = p;
	}
	free(copy);
	return r;
}

int vc_dev_init_openssl(struct vc_dev *d)
{
	const struct vc_opts *o = &d->opts;
	if (o->secure_heap && !CRYPTO_secure_malloc_initialized()) {
		/* Process-wide: private keys OpenSSL decodes (BIGNUMs) go to locked memory. */
		int r = CRYPTO_secure_malloc_init((size_t)o->secure_heap, 16);
		if (r == 0)
			vt_warn("%s: OpenSSL secure heap of %" PRIu64 " bytes unavailable", d->name,
				o->secure_heap);
		else if (r == 2)
			vt_warn("%s: OpenSSL secure heap is not locked (RLIMIT_MEMLOCK?)", d->name);
	}
	if (o->ossl_config || o->ossl_providers) {
		d->libctx = OSSL_LIB_CTX_new();
		if (!d->libctx)
			return -ENOMEM;
		if (o->ossl_config && !OSSL_LIB_CTX_load_config(d->libctx, o->ossl_config)) {
			vt_err("%s: openssl_config: cannot load '%s'", d->name, o->ossl_config);
			return -EINVAL;
		}
		if (o->ossl_providers && load_providers(d, o->ossl_providers) < 0)
			return -EINVAL;
	}
	if (o->ossl_propq) {
		d->propq = strdup(o->ossl_propq);
		if (!d->propq)
			return -ENOMEM;
	}
	char why[96];
	if (vc_check_algorithms(o->algorithms, why, sizeof(why)) < 0) {
		vt_err("%s: algorithms: %s", d->name, why);
		return -EINVAL;
	}

	const char *allow = o->algorithms;
	unsigned fetched = 0;
	for (size_t i = 0; i < vc_ncipher_algs; i++) {
		if (!allowed(allow, vc_cipher_algs[i].name))
			continue;
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++) {
			const struct vc_variant *var = &vc_cipher_algs[i].var[v];
			if (!var->ossl || var->key_len > o->max_cipher_key_len)
				continue;
			d->ciphers[i][v] = EVP_CIPHER_fetch(d->libctx, var->ossl, d->propq);
			fetched += d->ciphers[i][v] != NULL;
		}
	}
	for (size_t i = 0; i < vc_nhash_algs; i++) {
		/* Digests are fetched for HMAC too; `allowed` gates the HASH service. */
		d->mds[i] = EVP_MD_fetch(d->libctx, vc_hash_algs[i].ossl, d->propq);
		d->hash_enabled[i] = d->mds[i] && allowed(allow, vc_hash_algs[i].name);
	}
	for (unsigned h = 0; h < VT_ARRAY_SIZE(rsa_hash_names); h++)
		if (rsa_hash_names[h])
			d->md_by_rsa_hash[h] = EVP_MD_fetch(d->libctx, rsa_hash_names[h], d->propq);
	d->macs[VC_MAC_KIND_HMAC] = EVP_MAC_fetch(d->libctx, "HMAC", d->propq);
	d->macs[VC_MAC_KIND_CMAC] = EVP_MAC_fetch(d->libctx, "CMAC", d->propq);
	for (size_t i = 0; i < vc_nmac_algs; i++) {
		const struct vc_mac_alg *m = &vc_mac_algs[i];
		if (!allowed(allow, m->name) || !d->macs[m->kind])
			continue;
		if (m->kind == VC_MAC_KIND_HMAC) {
			d->mac_enabled[i] = vc_dev_md(d, m->hash_id) != NULL;
		} else {
			/* CMAC needs its block cipher: fetch to check the provider has it. */
			for (unsigned v = 0; v < VC_MAX_VARIANTS; v++) {
				if (!m->var[v].ossl)
					continue;
				EVP_CIPHER *c = EVP_CIPHER_fetch(d->libctx, m->var[v].ossl, d->propq);
				d->mac_enabled[i] |= c != NULL;
				EVP_CIPHER_free(c);
			}
		}
	}
	for (size_t i = 0; i < vc_naead_algs; i++) {
		if (!allowed(allow, vc_aead_algs[i].name))
			continue;
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++) {
			const struct vc_variant *var = &vc_aead_algs[i].var[v];
			if (!var->ossl || var->key_len > o->max_cipher_key_len)
				continue;
			d->aeads[i][v] = EVP_CIPHER_fetch(d->libctx, var->ossl, d->propq);
			fetched += d->aeads[i][v] != NULL;
		}
	}
	if (allowed(allow, "rsa")) {
		EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(d->libctx, "RSA", d->propq);
		d->rsa_enabled = km != NULL;
		EVP_KEYMGMT_free(km);
	}
	if (allowed(allow, "ecdsa")) {
		EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(d->libctx, "EC", d->propq);
		d->ecdsa_enabled = km != NULL;
		EVP_KEYMGMT_free(km);
	}
	vt_debug("%s: fetched %u cipher/aead variants", d->name, fetched);
	return 0;
}

void vc_dev_free_openssl(struct vc_dev *d)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(d->ciphers); i++)
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
			EVP_CIPHER_free(d->ciphers[i][v]);
	for (size_t i = 0; i < VT_ARRAY_SIZE(d->aeads); i++)
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
			EVP_CIPHER_free(d->aeads[i][v]);
	for (size_t i = 0; i < VT_ARRAY_SIZE(d->mds); i++)
		EVP_MD_free(d->mds[i]);
	for (size_t i = 0; i < VT_ARRAY_SIZE(d->md_by_rsa_hash); i++)
		EVP_MD_free(d->md_by_rsa_hash[i]);
	for (size_t i = 0; i < VT_ARRAY_SIZE(d->macs); i++)
		EVP_MAC_free(d->macs[i]);
	for (unsigned i = d->nproviders; i-- > 0;)
		OSSL_PROVIDER_unload(d->providers[i]);
	d->nproviders = 0;
	OSSL_LIB_CTX_free(d->libctx);
	d->libctx = NULL;
	free(d->propq);
	d->propq = NULL;
}

/* ---- Config space ------------------------------------------------------------- */

void vc_dev_build_config(struct vc_dev *d)
{
	struct vc_config *c = &d->config;
	memset(c, 0, sizeof(*c));
	c->status = VC_S_HW_READY;
	c->max_dataqueues = d->opts.dataqueues;
	for (size_t i = 0; i < vc_ncipher_algs; i++)
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
			if (d->ciphers[i][v])
				c->cipher_algo_l |= 1u << vc_cipher_algs[i].id;
	for (size_t i = 0; i < vc_nhash_algs; i++)
		if (d->hash_enabled[i])
			c->hash_algo |= 1u << vc_hash_algs[i].id;
	for (size_t i = 0; i < vc_nmac_algs; i++) {
		if (!d->mac_enabled[i])
			continue;
		uint32_t id = vc_mac_algs[i].id;
		if (id < 32)
			c->mac_algo_l |= 1u << id;
		else
			c->mac_algo_h |= 1u << (id - 32);
	}
	for (size_t i = 0; i < vc_naead_algs; i++)
		for (unsigned v = 0; v < VC_MAX_VARIANTS; v++)
			if (d->aeads[i][v])
				c->aead_algo |= 1u << vc_aead_algs[i].id;
	if (d->rsa_enabled)
		c->akcipher_algo |= 1u << VC_AKCIPHER_RSA;
	if (d->ecdsa_enabled)
		c->akcipher_algo |= 1u << VC_AKCIPHER_ECDSA;

	if (c->cipher_algo_l || c->cipher_algo_h)
		c->crypto_services |= 1u << VC_SERVICE_CIPHER;
	if (c->hash_algo)
		c->crypto_services |= 1u << VC_SERVICE_HASH;
	if (c->mac_algo_l || c->mac_algo_h)
		c->crypto_services |= 1u << VC_SERVICE_MAC;
	if (c->aead_algo)
		c->crypto_services |= 1u << VC_SERVICE_AEAD;
	if (c->akcipher_algo)
		c->crypto_services |= 1u << VC_SERVICE_AKCIPHER;
	c->max_cipher_key_len = d->opts.max_cipher_key_len;
	c->max_auth_key_len = d->opts.max_auth_key_len;
	c->max_size = d->opts.max_size;

	uint64_t f = 0;
	if (d->opts.revision_1) {
		f |= 1ull << VC_F_REVISION_1;
		if (d->opts.stateless) {
			if (c->crypto_services & (1u << VC_SERVICE_CIPHER))
				f |= 1ull << VC_F_CIPHER_STATELESS_MODE;
			if (c->crypto_services & (1u << VC_SERVICE_HASH))
				f |= 1ull << VC_F_HASH_STATELESS_MODE;
			if (c->crypto_services & (1u << VC_SERVICE_MAC))
				f |= 1ull << VC_F_MAC_STATELESS_MODE;
			if (c->crypto_services & (1u << VC_SERVICE_AEAD))
				f |= 1ull << VC_F_AEAD_STATELESS_MODE;
			if (c->crypto_services & (1u << VC_SERVICE_AKCIPHER))
				f |= 1ull << VC_F_AKCIPHER_STATELESS_MODE;
		}
	}
	d->offered_features = f;
}
