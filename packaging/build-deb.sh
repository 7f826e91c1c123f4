#!/usr/bin/env bash
# Builds the Debian package of mandate with cargo-deb.
#   packaging/build-deb.sh            -> target/debian/mandate_<version>_<arch>.deb
# Installs cargo-deb from crates.io on first use. The man pages and shell
# completions are generated from the built binary's own command line
# (`mandate man`, `mandate completions`), so they never drift from it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb
fi
cargo build --release --locked -p mandate-cli
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="$target_dir/release/mandate"
gen="$target_dir/release/generated"
rm -rf "$gen"
mkdir -p "$gen/man" "$gen/completions"
"$bin" man --output "$gen/man" >/dev/null
gzip -9n "$gen"/man/*.1
"$bin" completions bash > "$gen/completions/mandate"
"$bin" completions zsh > "$gen/completions/_mandate"
"$bin" completions fish > "$gen/completions/mandate.fish"
cargo deb -p mandate-cli --no-build "$@"
ls -l "$target_dir"/debian/*.deb
