#!/usr/bin/env bash
# Debian packages the test suite uses beyond Node: tshark (btsnoop captures are checked
# with it), chromium (the front-panel browser test drives it with playwright-core) and
# openssl (the TLS tests make a second certificate with it). mosquitto: the MQTT link's tests
# start their own broker from it (no system service is used). python3: its pty module makes
# the null-modem pairs of the serial and OSDP tests.
# Installs only what is missing; needs root (CI and the dev machines are root).
set -euo pipefail
need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
[ ${#need[@]} -eq 0 ] && { echo "system packages present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "missing ${need[*]} and not root: tests that need them will fail" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed ${need[*]}"
