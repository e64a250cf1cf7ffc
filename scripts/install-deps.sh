#!/usr/bin/env bash
# Installs what payoutd needs to build and test on Debian 12 (run as root or with sudo).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcsv-dev libyaml-dev libsqlite3-dev libsystemd-dev
      libcmocka-dev libssl-dev libjansson-dev sqlite3 tzdata systemd time
      # the Debian package and its test (tests/packaging/deb.sh)
      debhelper dpkg-dev fakeroot lintian git
      # the libFuzzer targets (tests/fuzz/run.sh): libclang-rt-14-dev holds libFuzzer and is
      # only a Recommends of clang; llvm gives llvm-symbolizer for readable stack traces
      clang libclang-rt-14-dev llvm
      # the e2e tests once under memcheck (tests/valgrind.sh)
      valgrind)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
