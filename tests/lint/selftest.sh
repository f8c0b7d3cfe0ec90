#!/usr/bin/env bash
# scripts/lint.sh must fail on a raw guest span or a copied cursor outside core/ and accept
# both inside core/: runs the real script on a scratch git tree holding one planted file.
set -u
lint=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/lint-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
check() { # name, dir, expected exit, expected rule (or "")
	local name=$1 dir=$2 want=$3 rule=$4 t="$work/$1"
	mkdir -p "$t/scripts" "$t/$dir"
	cp "$lint" "$t/scripts/lint.sh"
	printf '%s\n' 'static void f(struct vt_chain *c)' '{' \
		'	const uint8_t *p;' '	(void)vt_chain_raw_read_span(c, 4, &p);' \
		'	struct vt_chain save = *c;' '	(void)save;' '}' >"$t/$dir/planted.c"
	git -C "$t" init -q
	out=$(bash "$t/scripts/lint.sh" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ] || { [ -n "$rule" ] && ! grep -q "lint: $rule:" <<<"$out"; }; then
		echo "FAIL $name: exit $rc (want $want)${rule:+, rule $rule}"
		echo "$out" | sed 's/^/  /'
		fail=1
	else
		echo "PASS $name"
	fi
}
check device-raw-span devices/x 1 raw-span
check device-cursor-copy devices/x 1 cursor-copy
check probe-raw-span probe 1 raw-span
check core-may core 0 ""
exit $fail
