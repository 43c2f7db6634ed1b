#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and checks it without installing it on this machine:
# its contents and control fields (dpkg-deb -I, -c), its maintainer scripts (dpkg-deb -e), the
# packaged binary run from an extracted copy (dpkg-deb -x) with --version and with the packaged
# configuration, and the systemd unit (systemd-analyze verify, where there is one).
# Reuses target/release/jixiao when scripts/test.sh has just built it (JIXIAO_DEB_NO_BUILD=1).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.6.0
if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "package test: no dpkg-deb on this machine; skipped"
  exit 0
fi
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "package test: $*" >&2
  exit 1
}

started=$(date +%s)
# --fast: lighter compression of the same contents, to keep CI short.
args=(--output "$tmp/" --fast)
if [ "${JIXIAO_DEB_NO_BUILD:-}" = 1 ]; then
  args+=(--no-build)
else
  args+=(--locked)
fi
cargo deb "${args[@]}" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  fail "cargo deb failed"
}
deb=$(ls "$tmp"/*.deb)
echo "built $(basename "$deb") in $(($(date +%s) - started)) s"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

dpkg-deb -I "$deb" >"$tmp/info"
grep -q "^ Package: jixiao$" "$tmp/info" || fail "control: no Package: jixiao"
grep -q "^ Version: $version" "$tmp/info" || fail "control: version is not $version"
grep -q "^ Depends:.*adduser" "$tmp/info" || fail "control: does not depend on adduser"

# Mode, owner and path of every entry (owner 0/0 is root/root; paths without a leading ./).
dpkg-deb -c "$deb" | awk '{o = $2; if (o == "0/0") o = "root/root"; p = $NF; sub(/^\.?\//, "", p); print $1, o, p}' >"$tmp/contents"
for want in \
  "-rwxr-xr-x root/root usr/bin/jixiao" \
  "-rw-r--r-- root/root lib/systemd/system/jixiao.service" \
  "-rw-r--r-- root/root etc/jixiao/jixiao.toml"; do
  grep -qxF -- "$want" "$tmp/contents" || {
    cat "$tmp/contents" >&2
    fail "contents: missing $want"
  }
done

dpkg-deb -e "$deb" "$tmp/control"
grep -qxF "/etc/jixiao/jixiao.toml" "$tmp/control/conffiles" || fail "the configuration is not a conffile"
for script in postinst prerm postrm; do
  [ -x "$tmp/control/$script" ] || fail "no executable $script"
  sh -n "$tmp/control/$script" || fail "$script: syntax error"
done
grep -q "adduser --system" "$tmp/control/postinst" || fail "postinst creates no system user"
grep -q "chown jixiao:jixiao /var/lib/jixiao" "$tmp/control/postinst" || fail "postinst does not give /var/lib/jixiao to jixiao"
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -s sh "$tmp/control/postinst" "$tmp/control/prerm" "$tmp/control/postrm"
fi

dpkg-deb -x "$deb" "$tmp/root"
bin="$tmp/root/usr/bin/jixiao"
"$bin" --version | grep -qx "jixiao $version" || fail "the packaged binary does not say jixiao $version"
# The packaged configuration, with its folders moved into the test's folder, is one the packaged
# binary reads.
sed "s#/var/lib/jixiao#$tmp/var#g" "$tmp/root/etc/jixiao/jixiao.toml" >"$tmp/jixiao.toml"
mkdir -p "$tmp/var"
"$bin" --config "$tmp/jixiao.toml" status >/dev/null 2>"$tmp/status.err" || {
  cat "$tmp/status.err" >&2
  fail "the packaged binary does not read the packaged configuration"
}

unit="$tmp/root/lib/systemd/system/jixiao.service"
grep -qxF "ExecStart=/usr/bin/jixiao --config /etc/jixiao/jixiao.toml watch" "$unit" || fail "unit: ExecStart"
grep -qxF "User=jixiao" "$unit" || fail "unit: User"
grep -qxF "TimeoutStopSec=30" "$unit" || fail "unit: TimeoutStopSec"
if command -v systemd-analyze >/dev/null 2>&1; then
  # Verified as a copy that starts the extracted binary (this machine has no /usr/bin/jixiao):
  # a unit setting systemd does not take fails here.
  mkdir -p "$tmp/unit"
  sed "s#/usr/bin/jixiao#$bin#" "$unit" >"$tmp/unit/jixiao.service"
  if ! systemd-analyze verify --man=no --recursive-errors=no "$tmp/unit/jixiao.service" >"$tmp/verify" 2>&1; then
    cat "$tmp/verify" >&2
    fail "systemd-analyze verify"
  fi
  if [ -s "$tmp/verify" ]; then cat "$tmp/verify"; fi
else
  echo "package test: no systemd-analyze; the unit was not verified"
fi
echo "package test: $(basename "$deb") is right ($(($(date +%s) - started)) s)"
