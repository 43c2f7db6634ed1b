#!/usr/bin/env bash
# The first use as the README tells it, on this checkout: `cargo install --path . --locked` into
# a temporary prefix (reusing the target folder, so that the package test after it builds
# nothing again), then in an empty folder `jixiao watch --once` (which creates the example setup
# in ./jixiao-data) and `jixiao status` without --config (which finds it there).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "first use: $*" >&2
  exit 1
}

started=$(date +%s)
cargo install --path . --locked --root "$tmp/prefix" --target-dir "$target" --quiet
echo "cargo install took $(($(date +%s) - started)) s"
export PATH="$tmp/prefix/bin:$PATH"
unset JIXIAO_CONFIG
[ "$(command -v jixiao)" = "$tmp/prefix/bin/jixiao" ] || fail "jixiao is not the installed one"

mkdir "$tmp/office"
cd "$tmp/office"
jixiao watch --once 2>"$tmp/watch.err" || {
  cat "$tmp/watch.err" >&2
  fail "jixiao watch --once failed"
}
[ -f jixiao-data/jixiao.toml ] || fail "no example setup in ./jixiao-data"
[ -n "$(ls jixiao-data/收件/*/空白表样/*.xlsx)" ] || fail "no blank forms"
jixiao status >"$tmp/status.out" 2>"$tmp/status.err" || {
  cat "$tmp/status.err" >&2
  fail "jixiao status failed"
}
grep -q "using the configuration ./jixiao-data/jixiao.toml" "$tmp/status.err" \
  || fail "status did not say it uses ./jixiao-data/jixiao.toml: $(cat "$tmp/status.err")"
grep -q "^daemon: not running" "$tmp/status.out" || fail "status: $(cat "$tmp/status.out")"
echo "first use: installed, watch --once made the example setup, status found it"
