# Homebrew formula template for mandate. Fill in `url` and `sha256` for a
# release tarball (`shasum -a 256 mandate-VERSION.tar.gz`), then
# `brew install --build-from-source ./mandate.rb`.
class Mandate < Formula
  desc "One effective, non-overridable configuration for AI coding agents"
  homepage "https://example.invalid/mandate"
  url "https://example.invalid/mandate/archive/refs/tags/vVERSION.tar.gz"
  sha256 "SHA256_OF_THE_RELEASE_TARBALL"
  license "Apache-2.0"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args(path: "cli")
    # Man pages and completions come from the binary's own command line.
    system bin/"mandate", "man", "--output", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
    generate_completions_from_executable(bin/"mandate", "completions")
    pkgshare.install "profiles", "schema"
    (prefix/"Library/LaunchDaemons").install "packaging/launchd/dev.mandate.sync.plist"
  end

  def caveats
    <<~EOS
      mandate reads managed policy from root-owned locations. To run the
      sync-and-apply job as root every 15 minutes:
        sudo cp #{opt_prefix}/Library/LaunchDaemons/dev.mandate.sync.plist /Library/LaunchDaemons/
        sudo launchctl bootstrap system /Library/LaunchDaemons/dev.mandate.sync.plist
    EOS
  end

  test do
    assert_match "effective configuration", shell_output("#{bin}/mandate demo")
    assert_match "_mandate", shell_output("#{bin}/mandate completions bash")
  end
end
