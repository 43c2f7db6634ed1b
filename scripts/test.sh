#!/usr/bin/env bash
# Runs every test of jixiao: formatting, lints, the whole test suite, the first use as the
# README tells it (installed with cargo install into a temporary prefix) and the Debian package.
# Installs what the tests need from outside Rust first (see scripts/install-test-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export JIXIAO_EXTERNAL_TESTS=1

if [ -x scripts/install-test-tools.sh ]; then
  scripts/install-test-tools.sh
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test --all-targets
# The doctests, if any, run too.
cargo test --doc
echo "== first use: cargo install, then watch --once and status in an empty folder"
scripts/first_use_test.sh
echo "== the Debian package (cargo-deb), checked without installing it"
# The release binary cargo install just built is the one packaged.
JIXIAO_DEB_NO_BUILD=1 scripts/package_test.sh
