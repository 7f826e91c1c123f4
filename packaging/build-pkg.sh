#!/usr/bin/env bash
# Builds the macOS installer package of mandate: the binary, the launch
# daemon, man pages, shell completions, the schemas and the profiles, for
# Jamf, Intune or any MDM that deploys a .pkg.
#
#   packaging/build-pkg.sh [OUT]      -> OUT/mandate-<version>.pkg (default OUT: target/pkg)
#
# The package layout is built first, on any system, in OUT/root (the payload,
# installed at /) and OUT/scripts (preinstall, postinstall); `pkgbuild`
# (macOS only) then turns them into the .pkg. Set MANDATE_BIN to package a
# binary already built (for instance a universal binary made with lipo);
# otherwise `cargo build --release` builds one. Set PKG_LAYOUT_ONLY=1 to stop
# after the layout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$repo/target/pkg}"
if [ -z "${MANDATE_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --locked -p mandate-cli)
  target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  MANDATE_BIN="$target_dir/release/mandate"
fi
version="$("$MANDATE_BIN" --version | awk '{print $2}')"
case "$version" in
  ''|*[!0-9A-Za-z.+-]*) echo "build-pkg: cannot read the version of $MANDATE_BIN" >&2; exit 1 ;;
esac

root="$out/root"
scripts="$out/scripts"
rm -rf "$root" "$scripts"
umask 022
install -d -m 755 "$root/usr/local/bin" "$root/Library/LaunchDaemons" \
  "$root/usr/local/share/man/man1" "$root/usr/local/share/mandate/schema" \
  "$root/usr/local/share/mandate/profiles" "$root/usr/local/share/zsh/site-functions" \
  "$root/usr/local/share/bash-completion/completions" \
  "$root/usr/local/share/fish/vendor_completions.d" "$scripts"
install -m 755 "$MANDATE_BIN" "$root/usr/local/bin/mandate"
install -m 644 "$here/launchd/dev.mandate.sync.plist" "$root/Library/LaunchDaemons/"
"$MANDATE_BIN" man --output "$root/usr/local/share/man/man1" >/dev/null
chmod 644 "$root"/usr/local/share/man/man1/*.1
"$MANDATE_BIN" completions zsh > "$root/usr/local/share/zsh/site-functions/_mandate"
"$MANDATE_BIN" completions bash > "$root/usr/local/share/bash-completion/completions/mandate"
"$MANDATE_BIN" completions fish > "$root/usr/local/share/fish/vendor_completions.d/mandate.fish"
install -m 644 "$repo"/schema/*.json "$root/usr/local/share/mandate/schema/"
install -m 644 "$repo"/profiles/*.toml "$root/usr/local/share/mandate/profiles/"

cat > "$scripts/preinstall" <<'SCRIPT'
#!/bin/sh
# Stop the running job before its binary is replaced.
launchctl bootout system/dev.mandate.sync 2>/dev/null || true
exit 0
SCRIPT
cat > "$scripts/postinstall" <<'SCRIPT'
#!/bin/sh
# Load the sync-and-apply job (root, every 15 minutes). $3 is the target
# volume: only load it when installing on the running system.
set -e
if [ "${3:-/}" != "/" ]; then
  exit 0
fi
mkdir -p /Library/Logs/mandate
chown root:wheel /Library/LaunchDaemons/dev.mandate.sync.plist
chmod 644 /Library/LaunchDaemons/dev.mandate.sync.plist
launchctl bootout system/dev.mandate.sync 2>/dev/null || true
launchctl bootstrap system /Library/LaunchDaemons/dev.mandate.sync.plist
exit 0
SCRIPT
chmod 755 "$scripts/preinstall" "$scripts/postinstall"

if [ "${PKG_LAYOUT_ONLY:-0}" = 1 ]; then
  echo "layout: $root (payload), $scripts (scripts); version $version"
  exit 0
fi
if ! command -v pkgbuild >/dev/null 2>&1; then
  echo "build-pkg: pkgbuild runs on macOS only; the layout is in $root and $scripts" >&2
  exit 1
fi
pkgbuild --root "$root" --scripts "$scripts" --identifier dev.mandate \
  --version "$version" --install-location / --ownership recommended \
  "$out/mandate-$version.pkg"
ls -l "$out/mandate-$version.pkg"
