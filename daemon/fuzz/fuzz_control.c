/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the control protocol: the input is what a client
 * sends on the control socket. Every line goes through
 * vtd_control_handle_line against two instantiated null devices, an rng
 * device (its control hook: leak, reseed, seed-fault with its JSON args) and
 * a crypto device (status and metrics by name); every reply must be a JSON
 * object with a boolean "ok" that serialises to one line. The rpmb device's
 * hook is not here: its export writes files named by the request (its
 * ticket and receipt texts are fuzz_rpmb_ticket's, its blobs fuzz_rpmb_blob's).
 * The HTTP request parser sees the same bytes.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "registry.h"
#include "vtrustd.h"

static struct vtd_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vt_log_set_level(VT_LOG_ERR);
	vtd_config_init(&cfg);
	cfg.single = true; /* no default device set, no directories */
	cfg.control_max_request = 4096;
	if (vtd_config_parse_device_arg(&cfg, "n0:null,socket=/nonexistent/n0.sock") < 0 ||
	    vtd_config_parse_device_arg(&cfg, "n1:null,socket=/nonexistent/n1.sock") < 0 ||
	    (vt_device_type_find("rng") &&
	     vtd_config_parse_device_arg(&cfg, "r0:rng,test_hooks=true,socket=/nonexistent/r0.sock") <
		 0) ||
	    (vt_device_type_find("crypto") &&
	     vtd_config_parse_device_arg(&cfg, "c0:crypto,socket=/nonexistent/c0.sock") < 0) ||
	    vtd_config_finish(&cfg) < 0)
		abort();
	for (unsigned i = 0; i < cfg.ninst; i++)
		if (vtd_instance_create(&cfg, cfg.inst[i]) < 0)
			abort();
	return 0;
}

static void one(const char *line, size_t len)
{
	struct json_object *r = vtd_control_handle_line(&cfg, line, len);
	struct json_object *ok;
	if (!r || !json_object_is_type(r, json_type_object) || !json_object_object_get_ex(r, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		abort();
	const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	if (!s || strchr(s, '\n'))
		abort();
	json_object_put(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cfg.ninst)
		LLVMFuzzerInitialize(NULL, NULL);
	const char *p = (const char *)data;
	size_t start = 0;
	for (size_t i = 0; i < size; i++) {
		if (p[i] == '\n') {
			one(p + start, i - start);
			start = i + 1;
		}
	}
	one(p + start, size - start);
	bool head;
	(void)vtd_http_parse(p, size, 8192, &head);
	return 0;
}
