#!/usr/bin/env bash
# Runs every test of jixiao: formatting, lints, and the whole test suite.
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
