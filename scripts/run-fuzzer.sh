#!/usr/bin/env bash
# run-fuzzer.sh BINARY CORPUS_DIR: runs a libFuzzer harness for $FUZZ_SECONDS
# (default 10) on a scratch copy of the corpus; any crash fails the test and
# is kept under the build directory for the developer to add to the corpus.
set -euo pipefail
bin=$1
corpus=$2
secs=${FUZZ_SECONDS:-10}
work=$(mktemp -d "${TMPDIR:-/tmp}/vtrust-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$(dirname "$bin")/fuzz-artifacts"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$(dirname "$bin")/fuzz-artifacts/" "$work/corpus"
