/* SPDX-License-Identifier: Apache-2.0 */
/* Key files and per-VM key provisioning (HKDF-SHA256 from a host master key). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "log.h"
#include "rpmb.h"
#include "secmem.h"

int rpmb_parse_key(const uint8_t *text, size_t n, uint8_t key[RPMB_KEY_SIZE], char *err,
		   size_t errlen)
{
	if (n == RPMB_KEY_SIZE) {
		memcpy(key, text, RPMB_KEY_SIZE);
		return 0;
	}
	if (n > RPMB_KEY_FILE_MAX) {
		vt_wipe(key, RPMB_KEY_SIZE);
		snprintf(err, errlen,
			 "longer than %u bytes: expected 32 raw bytes or 64 hex digits and nothing "
			 "else",
			 RPMB_KEY_FILE_MAX);
		return -EINVAL;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	if (n != 2 * RPMB_KEY_SIZE ||
	    rpmb_unhex((const char *)text, key, RPMB_KEY_SIZE, true) < 0) {
		vt_wipe(key, RPMB_KEY_SIZE);
		snprintf(err, errlen,
			 "expected 32 raw bytes or 64 hex digits and nothing else (make one with "
			 "'head -c 32 /dev/urandom > FILE')");
		return -EINVAL;
	}
	return 0;
}

int rpmb_read_key_file(const char *path, uint8_t key[RPMB_KEY_SIZE], char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not make the start wait for a writer (refused below). */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(-e));
		return e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		snprintf(err, errlen, "cannot stat: %s", strerror(-e));
		return e;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "must be a regular file without group/other access (mode %04o; chmod 600 "
			 "it)",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	/* The whole file, up to one byte more than a key file can hold: that byte refuses it. */
	uint8_t buf[RPMB_KEY_FILE_MAX + 1];
	size_t n = 0;
	int r = 0;
	while (n < sizeof(buf)) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot read: %s", strerror(-r));
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (r == 0)
		r = rpmb_parse_key(buf, n, key, err, errlen);
	vt_wipe(buf, sizeof(buf));
	return r;
}

int rpmb_hkdf(const uint8_t *ikm, size_t ikm_len, const char *salt, const void *info,
	      size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!ctx)
		return -EIO;
	char digest[] = "SHA256";
	uint8_t empty = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
					      strlen(salt)),
	    OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_INFO, info_len ? (void *)(uintptr_t)info : &empty, info_len),
	    OSSL_PARAM_construct_end(),
	};
	int ok = EVP_KDF_derive(ctx, out, out_len, params);
	EVP_KDF_CTX_free(ctx);
	return ok == 1 ? 0 : -EIO;
}

int rpmb_derive_key(const uint8_t master[RPMB_KEY_SIZE], const char *vm_id,
		    uint8_t key[RPMB_KEY_SIZE])
{
	return rpmb_hkdf(master, RPMB_KEY_SIZE, "vtrust-rpmb-key-v1", vm_id, strlen(vm_id), key,
			 RPMB_KEY_SIZE);
}

int rpmb_provision_key(struct rpmb_dev *d, const uint8_t key[RPMB_KEY_SIZE], char *err,
		       size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	struct rpmb_store *s = d->store;
	int r = 0;
	if (s->st.flags & RPMB_ST_KEY) {
		if (vt_ct_memcmp(s->st.key, key, RPMB_KEY_SIZE) != 0) {
			snprintf(
			    err, errlen,
			    "the store already holds a different key (wrong master key or vm_id?)");
			r = -EKEYREJECTED;
		}
	} else if (rpmb_refusal(d)) {
		snprintf(err, errlen, "store refuses service: %s", rpmb_refusal(d));
		r = -EBUSY;
	} else {
		struct rpmb_state next = s->st;
		memcpy(next.key, key, RPMB_KEY_SIZE);
		next.flags |= RPMB_ST_KEY;
		r = rpmb_store_commit(s, &next, 0, 0, NULL);
		vt_wipe(&next, sizeof(next));
		if (r < 0)
			snprintf(err, errlen, "cannot store the key: %s", strerror(-r));
		else
			vt_notice("%s: per-VM key provisioned before the guest starts", d->name);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}
