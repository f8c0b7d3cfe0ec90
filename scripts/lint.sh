#!/usr/bin/env bash
# Banned patterns (run by `meson test`, suite lint). Each rule says why.
# A line may opt out of one rule with a trailing comment `lint-ok: RULE <reason>`.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
# Product sources (tests and fuzz harnesses may poke guest memory on purpose).
product() {
	git ls-files -co --exclude-standard -- "$@" 2>/dev/null |
		grep -E '\.(c|h)$' | grep -vE '(^|/)(tests?|fuzz)/' || true
}

rule() {
	local name=$1 why=$2 pattern=$3
	shift 3
	local files
	files=$(product "$@")
	[ -z "$files" ] && return
	# shellcheck disable=SC2086
	local hits
	hits=$(grep -nE "$pattern" $files | grep -v "lint-ok: $name" || true)
	if [ -n "$hits" ]; then
		echo "lint: $name: $why"
		echo "$hits" | sed 's/^/  /'
		fail=1
	fi
}

# 1. Only core/ translates guest addresses or touches ring memory; devices use struct vt_chain.
rule guest-addr "guest address translation or ring access outside core/" \
	'vt_guestmem_(gpa|uva)|struct vring_desc|->(avail|used|desc)\b|mmap_offset' \
	devices daemon ctl
# 2. assert() on peer data crashes the daemon or vanishes under NDEBUG.
rule assert "assert() in product code: return an error and mark the device broken" \
	'(^|[^_A-Za-z])assert[[:space:]]*\(' core devices daemon ctl fortuna probe
# 3. memcmp leaks timing; MACs, tags and keys need vt_ct_memcmp/CRYPTO_memcmp.
rule memcmp "memcmp() in product code: use vt_ct_memcmp (constant time)" \
	'(^|[^_A-Za-z])memcmp[[:space:]]*\(' core devices daemon ctl fortuna
# 4. Key material is freed only through wiping helpers.
rule key-free "plain free() of key material: use vt_secmem_free or OPENSSL_clear_free" \
	'(^|[^_A-Za-z])free[[:space:]]*\([^)]*(key|secret|seed)' core devices daemon ctl fortuna
# 5. Raw copies out of guest memory outside the cursor.
rule guest-copy "raw guest buffer access outside core/: use vt_chain_read/write" \
	'iov_base' devices daemon ctl
# 6. Guest pointers stay in core: devices stream through vt_chain_consume/produce/transform.
rule raw-span "raw guest span outside core/: use vt_chain_consume/peek/produce/transform" \
	'vt_chain_raw_[a-z_]*span' devices daemon ctl fortuna probe
# 7. A copied cursor (save = *c, then roll back) hides a second reader of guest memory:
#    vt_chain_read_at / vt_chain_peek read ahead without moving the cursor.
rule cursor-copy "struct vt_chain copied outside core/: use vt_chain_read_at/peek" \
	'struct vt_chain [A-Za-z_][A-Za-z_0-9]* = \*' devices daemon ctl probe

if [ $fail -eq 0 ]; then
	echo "lint: clean"
fi
exit $fail
