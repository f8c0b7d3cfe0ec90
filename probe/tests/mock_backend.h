/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deliberately small vhost-user back-end for the probe's own tests. It is
 * NOT a reference back-end: it accepts every message ("yes-man"), serves
 * queue 0 with the null device's semantics (copy min(readable, writable)),
 * records the request sequence, and can misbehave on purpose:
 *  - as a hostile back-end, to test the probe's reply and used-ring checks;
 *  - as a naive back-end, to prove the conformance cases can fail.
 */
#ifndef VTRUST_PROBE_MOCK_BACKEND_H
#define VTRUST_PROBE_MOCK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#define MOCK_LOG_MAX 512

struct mock_opts {
	uint64_t features;    /* offered; 0 = VERSION_1|INDIRECT|EVENT_IDX|PROTOCOL_FEATURES */
	uint64_t protocol;    /* offered; 0 = MQ|REPLY_ACK|CONFIG|CONFIGURE_MEM_SLOTS|
				 STATUS|CRYPTO_SESSION|DEVICE_STATE */
	bool naive;	      /* complete malformed chains (len 1) instead of skipping them */
	bool leak_fds;	      /* never close received fds */
	bool mute;	      /* never reply */
	uint32_t reply_flags; /* 0 = 0x5 */
	bool reply_wrong_request;
	int reply_size_delta;
	bool used_bad_id;    /* used.id = num + 5 */
	bool used_big_len;   /* used.len = writable + 100 */
	uint32_t die_on;     /* _exit(3) when this request arrives; 0 = never */
	uint32_t state_size; /* bytes of device state to save (default 100000) */
};

struct mock_log {
	uint32_t req[MOCK_LOG_MAX];
	uint32_t flags[MOCK_LOG_MAX];
	uint64_t u64[MOCK_LOG_MAX]; /* first 8 payload bytes */
	unsigned n;
	uint64_t chains; /* chains completed */
};

/* Serves one connection until the peer hangs up. Closes fd. */
int mock_serve(int fd, const struct mock_opts *o, struct mock_log *log);
/* Listens on path and serves connections one after the other, forever. */
int mock_listen_loop(const char *path, const struct mock_opts *o);

#endif
