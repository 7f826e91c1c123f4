#!/usr/bin/env bash
# Builds the Debian package of mandate with cargo-deb.
#   packaging/build-deb.sh            -> target/debian/mandate_<version>_<arch>.deb
# Installs cargo-deb from crates.io on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb
fi
cargo deb -p mandate-cli "$@"
ls -l target/debian/*.deb
