#!/usr/bin/env bash
# Sets up a Raspberry Pi (Raspberry Pi OS / Debian bookworm) to run reader-sim's pi profile
# as a service. Idempotent: every step checks first and only changes what is missing, so it
# can be run again after an update. docs/PI.md describes each step and the wiring.
#
# Usage: sudo scripts/pi-setup.sh [--user NAME] [--data DIR] [--no-start] [--skip-npm] [--dry-run]
#        scripts/pi-setup.sh --print-unit [--user NAME] [--data DIR]
set -euo pipefail

APP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICE_NAME=reader-sim
UNIT_SRC="$APP_DIR/scripts/reader-sim.service"
UNIT_DST="/etc/systemd/system/$SERVICE_NAME.service"
UDEV_RULE=/etc/udev/rules.d/60-reader-sim-gpio.rules
RUN_USER=${SUDO_USER:-reader}
[ "$RUN_USER" = root ] && RUN_USER=reader
DATA_DIR=/var/lib/reader-sim
DRY_RUN=0
START=1
NPM=1
PRINT_UNIT=0
NODE_MAJOR_MIN=20
APT_PACKAGES=(gpiod build-essential python3 bluez libcap2-bin)

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
  echo "pi-setup: $*" >&2
  exit 1
}
say() { echo "pi-setup: $*"; }
# Runs a command that changes the system, or shows it under --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ $*"
  else
    "$@"
  fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --user)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      RUN_USER=$2
      shift 2
      ;;
    --data)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      DATA_DIR=$2
      shift 2
      ;;
    --no-start) START=0; shift ;;
    --skip-npm) NPM=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --print-unit) PRINT_UNIT=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
      echo "pi-setup: unknown option '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
done

[[ "$RUN_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || { echo "pi-setup: bad user name '$RUN_USER'" >&2; exit 2; }
[[ "$DATA_DIR" = /* ]] || { echo "pi-setup: --data must be an absolute path, got '$DATA_DIR'" >&2; exit 2; }

render_unit() {
  sed -e "s|@APP_DIR@|$APP_DIR|g" -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@USER@|$RUN_USER|g" "$UNIT_SRC"
}

if [ "$PRINT_UNIT" = 1 ]; then
  render_unit
  exit 0
fi

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "needs root (sudo $0), or --dry-run to see what it would do"
fi

# 1. Debian packages: libgpiod tools (gpiodetect/gpioset/gpioget/gpiomon 1.6), a compiler for
#    the native addons (serialport, bluetooth-hci-socket), hciconfig, setcap.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "ok: packages ${APT_PACKAGES[*]}"
fi

# 2. Node 20 or newer (package.json engines).
command -v node >/dev/null 2>&1 || die "node not found: install Node.js ${NODE_MAJOR_MIN} or newer (https://nodejs.org, or NodeSource's Debian packages)"
NODE_BIN=$(readlink -f "$(command -v node)")
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge "$NODE_MAJOR_MIN" ] || die "node $(node -v) is too old: reader-sim needs ${NODE_MAJOR_MIN} or newer"
say "ok: node $(node -v) at $NODE_BIN"

# 3. The service user, in groups gpio (/dev/gpiochip*) and dialout (serial ports).
for group in gpio dialout; do
  getent group "$group" >/dev/null || run groupadd --system "$group"
done
if ! id -u "$RUN_USER" >/dev/null 2>&1; then
  say "creating user $RUN_USER"
  run useradd --system --create-home --shell /usr/sbin/nologin "$RUN_USER"
fi
for group in gpio dialout; do
  if id -nG "$RUN_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
    say "ok: $RUN_USER in $group"
  else
    run usermod -aG "$group" "$RUN_USER"
  fi
done
# Raspberry Pi OS gives group gpio the chips already; plain Debian needs this rule.
rule='SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"'
if [ "$(cat "$UDEV_RULE" 2>/dev/null)" != "$rule" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ write $UDEV_RULE: $rule"
  else
    echo "$rule" >"$UDEV_RULE"
    # Best effort: without udev running (a chroot, a container) the rule applies at next boot.
    if udevadm control --reload-rules; then
      udevadm trigger --subsystem-match=gpio || true
    fi
  fi
else
  say "ok: $UDEV_RULE"
fi

# 4. Dependencies (native addons build here, for this Pi).
if [ "$NPM" = 1 ] && [ ! -d "$APP_DIR/node_modules" ]; then
  run npm --prefix "$APP_DIR" ci --omit=dev
fi

# 5. BLE without root: node gets the two capabilities a raw HCI socket needs.
caps=$(getcap "$NODE_BIN" 2>/dev/null || true)
if [[ "$caps" == *cap_net_admin* && "$caps" == *cap_net_raw* ]]; then
  say "ok: $NODE_BIN has cap_net_raw,cap_net_admin"
else
  run setcap cap_net_raw,cap_net_admin+eip "$NODE_BIN"
fi

# 6. bluetoothd must not hold the adapter the reader drives.
if systemctl is-enabled bluetooth.service >/dev/null 2>&1 || systemctl is-active bluetooth.service >/dev/null 2>&1; then
  run systemctl disable --now bluetooth.service
else
  say "ok: bluetoothd is not running"
fi

# 7. Data directory (flash image, API token, pi.json) and the service.
if [ -d "$DATA_DIR" ]; then
  say "ok: $DATA_DIR"
else
  run install -d -o "$RUN_USER" -g "$RUN_USER" -m 0750 "$DATA_DIR"
fi
unit=$(render_unit)
if [ "$(cat "$UNIT_DST" 2>/dev/null)" != "$unit" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ write $UNIT_DST"
  else
    echo "$unit" >"$UNIT_DST"
  fi
  run systemctl daemon-reload
else
  say "ok: $UNIT_DST"
fi
run systemctl enable "$SERVICE_NAME.service"
if [ "$START" = 1 ]; then
  run systemctl restart "$SERVICE_NAME.service"
  say "started: journalctl -u $SERVICE_NAME -f"
fi
say "done (wiring and pi.json: docs/PI.md)"
