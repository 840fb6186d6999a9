#!/usr/bin/env bash
# Installs the Debian 12 packages Tollgate needs: to build and run it, or (--test) to run
# its test suite too. Does nothing when everything is already there.
set -euo pipefail

# libqt6opengl6-dev: Qt Charts' CMake package needs Qt6OpenGL's, which qt6-base-dev only
# recommends (and recommends are not installed here).
packages=(build-essential cmake ninja-build pkg-config ca-certificates
          qt6-base-dev libqt6opengl6-dev libqt6sql6-sqlite libqt6sql6-psql qt6-charts-dev
          qt6-svg-dev qtkeychain-qt6-dev
          libhttp-parser-dev libsqlite3-dev zlib1g-dev libbrotli-dev libzstd-dev libsimdjson-dev
          libxxhash-dev libsecret-1-0)
if [[ "${1:-}" == "--test" ]]; then
    # openssl: the integration tests make throwaway TLS certificates with it.
    packages+=(clang-format nginx-light procps openssl)
    # xvfb, trayer: screenshots of the window and the tray under a virtual display.
    packages+=(xvfb xauth trayer)
    # postgresql: the request-log tests start a throwaway server (Debian 12 ships 15).
    packages+=(postgresql)
    # The keychain tests run against a real Secret Service: a private D-Bus session
    # (dbus-run-session, dbus-send) with a throwaway GNOME keyring; QtKeychain loads
    # libsecret at run time.
    packages+=(dbus gnome-keyring libsecret-1-0)
    # The sanitized tests and the fuzzers (scripts/fuzz-check.sh): clang with libFuzzer and
    # the sanitizer runtimes, llvm-symbolizer for readable reports, ccache for rebuilds.
    packages+=(clang libclang-rt-14-dev llvm ccache)
    # Packaging checks: wixl and msiinfo build and read back an MSI from the WiX sources
    # (ctest -L packaging); scripts/package-check.sh validates the desktop entry and sends
    # its smoke request with curl.
    packages+=(wixl msitools desktop-file-utils curl)
    # scripts/windows-check.sh: the Windows build's sources through a Windows compiler.
    packages+=(g++-mingw-w64-x86-64-posix)
    # Node.js 18 or later for the end-to-end clients (@anthropic-ai/sdk, Claude Code).
    if ! command -v node >/dev/null || (( $(node -p 'process.versions.node.split(".")[0]') < 18 )); then
        packages+=(nodejs npm)
    fi
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
