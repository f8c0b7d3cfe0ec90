/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crypto bench` (crypto_bench.c) and the `crypto` command's options it
 * takes (cmd_crypto.c parses them). The bench reaches the device through
 * crypto_conn.h, never through the command's file.
 */
#ifndef VTRUST_PROBE_CRYPTO_BENCH_H
#define VTRUST_PROBE_CRYPTO_BENCH_H

#include "crypto_conn.h"

/* The `crypto` command's options (cmd_crypto.c parses them). */
struct cc_args {
	const char *alg, *key, *iv, *aad, *auth_key, *hash, *mac, *order, *key_file, *sig_file;
	const char *padding, *rsa_hash, *curve, *sizes, *depths, *control;
	int enc; /* 1 encrypt, 0 decrypt, -1 unset */
	bool stateless, vhost, legacy, rev1_only, public_key, keep, session_id_set, quick;
	bool in_place;
	long tag_len, result_len, out_len, split, queue, alg_id, vhost_layout;
	long cipher_off, cipher_len, hash_off, hash_len, reps;
	double seconds;
	uint64_t session_id;
};

/* Runs `crypto bench`: the table on stdout, the last line ratio=... */
int crypto_bench(struct probe_ctx *ctx, const struct cc_args *a);

#endif
