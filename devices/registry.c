/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

extern const struct vt_device_type vt_null_device_type;
extern const struct vt_device_type vt_rpmb_device_type;
extern const struct vt_device_type vt_rng_device_type;
extern const struct vt_device_type vt_crypto_device_type;

const struct vt_device_type *const vt_device_types[] = {
	&vt_null_device_type,
	&vt_rpmb_device_type,
	&vt_rng_device_type,
	&vt_crypto_device_type,
	NULL,
};

const struct vt_device_type *vt_device_type_find(const char *type)
{
	for (unsigned i = 0; vt_device_types[i]; i++)
		if (strcmp(vt_device_types[i]->type, type) == 0)
			return vt_device_types[i];
	return NULL;
}

/*
 * Option keys are spelled with '_' (as the daemon's own keys); the '-'
 * spelling some devices used first is accepted as the same key (deprecated:
 * vt_devcfg_check_keys says so once).
 */
static bool key_is(const char *given, const char *key)
{
	for (; *given && *key; given++, key++)
		if ((*given == '-' ? '_' : *given) != *key)
			return false;
	return *given == *key;
}

static const struct vt_devopt *find(const struct vt_devcfg *c, const char *key)
{
	const struct vt_devopt *o = NULL;
	for (unsigned i = 0; i < c->nopts; i++)
		if (key_is(c->opts[i].key, key))
			o = &c->opts[i];
	return o;
}

int vt_devcfg_error(const struct vt_devcfg *c, const char *key, const char *reason,
		    const char *valid)
{
	const struct vt_devopt *o = find(c, key);
	char where[300];
	if (o && o->origin)
		snprintf(where, sizeof(where), "%s: [device %s]", o->origin, c->name);
	else
		snprintf(where, sizeof(where), "%s:", c->name);
	vt_err("%s %s = %s: %s%s%s%s", where, o ? o->key : key, o ? o->value : "", reason,
	       valid ? " (valid: " : "", valid ? valid : "", valid ? ")" : "");
	return -EINVAL;
}

const char *vt_devcfg_get(const struct vt_devcfg *c, const char *key)
{
	const char *v = NULL;
	for (unsigned i = 0; i < c->nopts; i++)
		if (key_is(c->opts[i].key, key))
			v = c->opts[i].value; /* the last one wins (command line over file) */
	return v;
}

int vt_devcfg_u64(const struct vt_devcfg *c, const char *key, uint64_t def, uint64_t min,
		  uint64_t max, uint64_t *ret)
{
	const char *v = vt_devcfg_get(c, key);
	if (!v) {
		*ret = def;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	/* A digit first: strtoull would take blanks, '+' and '-' (which wraps). */
	if (errno || v[0] < '0' || v[0] > '9' || *end || x < min || x > max) {
		char valid[64];
		snprintf(valid, sizeof(valid), "%" PRIu64 "..%" PRIu64, min, max);
		return vt_devcfg_error(c, key, "invalid value", valid);
	}
	*ret = x;
	return 0;
}

int vt_devcfg_bool(const struct vt_devcfg *c, const char *key, bool def, bool *ret)
{
	const char *v = vt_devcfg_get(c, key);
	if (!v) {
		*ret = def;
		return 0;
	}
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) {
		*ret = false;
		return 0;
	}
	return vt_devcfg_error(c, key, "invalid value", "true, false, yes, no, on, off, 1, 0");
}

int vt_devcfg_check_keys(const struct vt_devcfg *c, const char *const *known)
{
	int r = 0;
	for (unsigned i = 0; i < c->nopts; i++) {
		const char *key = NULL;
		for (unsigned k = 0; known && known[k] && !key; k++)
			if (key_is(c->opts[i].key, known[k]))
				key = known[k];
		if (!key) {
			char valid[1024];
			size_t len = 0;
			valid[0] = '\0';
			for (unsigned k = 0; known && known[k] && len < sizeof(valid); k++)
				len += (size_t)snprintf(valid + len, sizeof(valid) - len, "%s%s",
							k ? ", " : "", known[k]);
			const struct vt_devopt *o = &c->opts[i];
			vt_err("%s%s[device %s] unknown option '%s' for a %s device (valid: %s)",
			       o->origin ? o->origin : "", o->origin ? ": " : "", c->name, o->key,
			       c->type, known && known[0] ? valid : "none");
			r = -EINVAL; /* go on: every unknown key gets its line */
			continue;
		}
		if (strcmp(key, c->opts[i].key) != 0)
			vt_warn("%s: option '%s' is deprecated: spell it '%s'", c->name,
				c->opts[i].key, key);
	}
	return r;
}
