# Homebrew formula for netd on macOS: builds the release tarball with CMake
# and installs tun-daemon, subnet-daemon, netctl, netd-tunnel (TLS from
# openssl@3), the man pages, the bash completion and the launchd plists of
# services/launchd.
#
# Never run here (no macOS machine builds or tests it; the macOS build is
# only cross-compiled, see the README's Platforms): the url and sha256 are
# to be filled in at release time, and `brew audit --strict netd` and
# `brew test netd` are still to be run on a Mac.
#
# A formula has one `brew services` service: tun-daemon's, the same as
# services/launchd/com.netd.tun-daemon.plist (root, as both plists run it).
# Both plists, @BINDIR@ filled in, are also installed in
# share/netd/launchd, for subnet-daemon (see the caveats).
class Netd < Formula
  desc "REST daemons that manage TUN interfaces and host subnets"
  homepage "https://github.com/OWNER/netd"
  url "https://github.com/OWNER/netd/archive/refs/tags/v0.2.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "boost" => :build # Asio and Beast: headers only
  depends_on "cli11" => :build
  depends_on "cmake" => :build
  depends_on "nlohmann-json" => :build
  depends_on :macos
  depends_on "openssl@3" # netd-tunnel's TLS and token hashes
  depends_on "spdlog"

  def install
    system "cmake", "-S", ".", "-B", "build", "-DNETD_BUILD_TESTS=OFF", *std_cmake_args
    system "cmake", "--build", "build"
    system "cmake", "--install", "build"

    plists = Dir["services/launchd/*.plist"]
    inreplace plists, "@BINDIR@", opt_bin
    (share/"netd/launchd").install plists
  end

  # The paths of com.netd.tun-daemon.plist, so that both ways of running it
  # share the state and logs the README documents.
  service do
    run [opt_bin/"tun-daemon", "--log-dir", "/var/log", "--state-dir", "/var/db/tun-daemon",
         "--lock-file", "/var/run/netd/allocation.lock", "--fd-socket", "/var/run/netd/tun-fd.sock"]
    require_root true
    keep_alive true
    log_path "/var/log/tun_daemon.log"
    error_log_path "/var/log/tun_daemon.err"
  end

  def caveats
    <<~EOS
      tun-daemon runs as a service, as root (it creates utun interfaces):
        sudo brew services start netd
      subnet-daemon has a launchd plist of its own:
        sudo cp #{opt_share}/netd/launchd/com.netd.subnet-daemon.plist /Library/LaunchDaemons/
        sudo launchctl bootstrap system /Library/LaunchDaemons/com.netd.subnet-daemon.plist
      Interfaces the daemons made stay when they stop.
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/tun-daemon --version")
    assert_match version.to_s, shell_output("#{bin}/subnet-daemon --version")
    assert_match "tun", shell_output("#{bin}/netctl --help")
    assert_match version.to_s, shell_output("#{bin}/netd-tunnel --version")
  end
end
