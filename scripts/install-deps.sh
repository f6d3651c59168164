#!/usr/bin/env bash
# Install, with apt-get, whatever xaifs needs to build and test that is missing.
# Usage: scripts/install-deps.sh [build|test]   (test adds the tools the tests drive)
set -euo pipefail

want=(meson ninja-build pkg-config gcc libfuse3-dev fuse3 libcurl4-openssl-dev
      libjson-c-dev python3 jq)
if [ "${1:-build}" = test ]; then
	want+=(clang libclang-rt-dev valgrind python3-pytest curl attr vim-nox rsync libglib2.0-bin
	       groff-base util-linux librsvg2-bin clang-format binutils
	       nginx-light openssl tinyproxy)
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null; then
	SUDO=(sudo)
else
	echo "missing packages (${missing[*]}); run this script as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (nginx-light, tinyproxy) must not start one on a
# port of the machine: the tests start their own. policy-rc.d 101 says so.
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	guard=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$guard" >/dev/null
	"${SUDO[@]}" chmod 755 "$guard"
fi
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -z "$guard" ] || "${SUDO[@]}" rm -f "$guard"
