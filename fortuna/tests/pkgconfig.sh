#!/bin/sh
# pkgconfig.sh BUILD_DIR PREFIX LIBDIR CONSUMER_C: `meson install --destdir`
# into a scratch directory, then build a consumer through pkg-config against
# the shared library and, separately, the static one, and run both.
set -eu
build=$1
prefix=$2
libdir=$3
src=$4
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtf-pc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log"
	echo "FAIL meson install"
	exit 1
}
case $libdir in
/*) ;;
*) libdir=$prefix/$libdir ;;
esac
root=$tmp/root
for f in "$prefix/include/vtrust/fortuna.h" "$libdir/pkgconfig/vtrust-fortuna.pc" \
	"$libdir/libvtrust-fortuna.a" "$libdir/libvtrust-fortuna.so.0"; do
	if [ ! -e "$root$f" ]; then
		echo "FAIL not installed: $f"
		exit 1
	fi
done
echo "PASS installed header, .pc, .a and .so"

export PKG_CONFIG_PATH="$root$libdir/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
pkg-config --print-errors --exists vtrust-fortuna
cflags=$(pkg-config --cflags vtrust-fortuna)
libs=$(pkg-config --libs vtrust-fortuna)
slibs=$(pkg-config --static --libs vtrust-fortuna)
echo "cflags: $cflags"
echo "libs: $libs"
echo "static libs: $slibs"

# shellcheck disable=SC2086
$cc -std=c17 -Wall -Werror $cflags "$src" -o "$tmp/consumer-shared" $libs
LD_LIBRARY_PATH="$root$libdir" "$tmp/consumer-shared"
if ! LD_LIBRARY_PATH="$root$libdir" ldd "$tmp/consumer-shared" | grep -q "$root$libdir/libvtrust-fortuna.so.0"; then
	echo "FAIL the shared consumer does not load the installed library"
	exit 1
fi
echo "PASS shared link through pkg-config"

# The same flags with the archive named explicitly (GNU ld -l:file).
slibs=$(echo "$slibs" | sed 's/-lvtrust-fortuna/-l:libvtrust-fortuna.a/')
# shellcheck disable=SC2086
$cc -std=c17 -Wall -Werror $cflags "$src" -o "$tmp/consumer-static" $slibs
"$tmp/consumer-static"
if readelf -d "$tmp/consumer-static" | grep -q 'libvtrust-fortuna'; then
	echo "FAIL the static consumer still needs the shared library"
	exit 1
fi
echo "PASS static link through pkg-config"
