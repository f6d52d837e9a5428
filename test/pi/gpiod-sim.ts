import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A simulated GPIO chip behind the libgpiod 1.6 command-line tools: gpiodetect, gpioinfo,
 * gpioset, gpioget and gpiomon as small bash scripts in a temp directory that answer with
 * 1.6's syntax and output, over a state directory (one file per line level, and a log of
 * every level change that gpiomon follows, so no edge is missed however slow it runs).
 * Strict like the real ones: unknown options, a missing chip, an offset out of range and a
 * line already held (EBUSY) are errors. `wire(a, b)` adds a loopback wire (the HIL rig's),
 * so a level set on a reaches b. The simulation owns every tool process it ran: remove()
 * kills the ones still running, so a failed test leaves none behind.
 */
export class SimulatedGpiodTools {
  readonly dir: string;
  readonly toolsDir: string;
  private readonly state: string;

  constructor(chips: Array<{ name: string; label: string; lines: number }>) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpiod-sim-'));
    this.toolsDir = path.join(this.dir, 'bin');
    this.state = path.join(this.dir, 'state');
    fs.mkdirSync(this.toolsDir);
    fs.mkdirSync(this.state);
    fs.writeFileSync(
      path.join(this.state, 'chips'),
      chips.map((c) => `${c.name} [${c.label}] (${c.lines} lines)\n`).join(''),
    );
    for (const chip of chips) {
      fs.mkdirSync(path.join(this.state, chip.name));
      fs.writeFileSync(path.join(this.state, chip.name, '.lines'), String(chip.lines));
    }
    for (const [tool, body] of Object.entries(TOOLS)) {
      const file = path.join(this.toolsDir, tool);
      fs.writeFileSync(file, `#!${BASH}\nSTATE='${this.state}'\n${COMMON}\n${body}\n`);
      fs.chmodSync(file, 0o755);
    }
  }

  /** Every tool invocation so far, as `tool arg arg ...`. */
  calls(): string[] {
    const file = path.join(this.state, 'calls');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
  }

  /** The physical level of a line (undefined: never driven or set). */
  level(offset: number, chip = 'gpiochip0'): 0 | 1 | undefined {
    const file = path.join(this.state, chip, String(offset));
    if (!fs.existsSync(file)) return undefined;
    return fs.readFileSync(file, 'utf8').trim() === '1' ? 1 : 0;
  }

  /** The outside world drives an input (a button, a door contact). */
  setLevel(offset: number, high: boolean, chip = 'gpiochip0'): void {
    const file = path.join(this.state, chip, String(offset));
    fs.writeFileSync(`${file}.tmp`, high ? '1\n' : '0\n');
    fs.renameSync(`${file}.tmp`, file);
    fs.appendFileSync(path.join(this.state, chip, 'events'), `${offset} ${high ? 1 : 0}\n`);
  }

  /** A loopback wire: whatever gpioset drives on `from` also appears on `to`. */
  wire(from: number, to: number, chip = 'gpiochip0'): void {
    fs.appendFileSync(path.join(this.state, chip, `wire.${from}`), `${to}\n`);
  }

  /** Lines a gpioset process holds right now. */
  held(chip = 'gpiochip0'): number[] {
    return fs
      .readdirSync(path.join(this.state, chip))
      .filter((f) => f.endsWith('.held'))
      .map((f) => Number(f.slice(0, -'.held'.length)))
      .sort((a, b) => a - b);
  }

  /** Tool processes of this simulation still running (pids). */
  running(): number[] {
    const file = path.join(this.state, 'pids');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => this.ranHere(pid));
  }

  /** Kills the tools still running, then deletes the chip. Safe to call twice. */
  remove(): void {
    for (const pid of this.running()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone between the look and the kill.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The pid is one of our scripts still alive (not a recycled pid of something else). */
  private ranHere(pid: number): boolean {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.toolsDir);
    } catch {
      return false;
    }
  }
}

/**
 * bash itself, found once: a `#!/usr/bin/env bash` line costs every tool run one more exec.
 * The scripts below fork as little as they can for the same reason (builtins, `read` instead
 * of `cat`, no command substitution): on a loaded 2-core machine each fork is tens of
 * milliseconds, and one HIL scenario runs a hundred or so tools.
 */
const BASH =
  (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, 'bash'))
    .find((file) => fs.existsSync(file)) ?? '/bin/bash';

const COMMON = String.raw`
tool=${'${0##*/}'}
echo "$tool $*" >> "$STATE/calls"
echo $$ >> "$STATE/pids"
fail() { echo "$tool: $*" >&2; exit 1; }
put() { echo "$2" > "$1.tmp.$$" && mv "$1.tmp.$$" "$1"; }
# A level change: the line's file, then the chip's change log that gpiomon follows.
drive() { put "$1/$2" "$3"; echo "$2 $3" >> "$1/events"; }
# Sets dir to the chip's state folder (no subshell: fail ends the tool itself).
chip_dir() {
  [ -d "$STATE/$1" ] || fail "unable to open chip '$1': No such file or directory"
  dir="$STATE/$1"
}
check_offset() {
  [[ "$2" =~ ^[0-9]+$ ]] || fail "invalid GPIO offset: $2"
  local lines; read -r lines < "$1/.lines"
  [ "$2" -lt "$lines" ] || fail "offset $2 out of range"
}
`;

const TOOLS: Record<string, string> = {
  gpiodetect: String.raw`
[ $# -eq 0 ] || fail "unrecognized argument $1"
while IFS= read -r chip; do echo "$chip"; done < "$STATE/chips"`,

  gpioinfo: String.raw`
[ $# -eq 1 ] || fail "this simulation lists one chip at a time"
chip_dir "$1"
read -r n < "$dir/.lines"
echo "$1 - $n lines:"
for ((i = 0; i < n; i++)); do
  if [ -e "$dir/$i.held" ]; then
    printf '	line %3d:      unnamed  "gpioset"  output  active-high [used]
' "$i"
  elif [ -e "$dir/$i.mon" ]; then
    printf '	line %3d:      unnamed  "gpiomon"   input  active-high [used]
' "$i"
  else
    printf '	line %3d:      unnamed       unused   input  active-high 
' "$i"
  fi
done`,

  gpioset: String.raw`
mode=exit; al=0; rest=()
for a in "$@"; do
  case "$a" in
    --mode=exit|--mode=signal|--mode=wait) mode=${'${a#--mode=}'} ;;
    -l|--active-low) al=1 ;;
    -*) fail "unrecognized option '$a'" ;;
    *) rest+=("$a") ;;
  esac
done
[ ${'${#rest[@]}'} -ge 2 ] || fail "at least one GPIO line offset to value mapping must be specified"
chip_dir "${'${rest[0]}'}"
held=()
for kv in "${'${rest[@]:1}'}"; do
  [[ "$kv" =~ ^([0-9]+)=([01])$ ]] || fail "invalid offset<->value mapping: $kv"
  off=${'${BASH_REMATCH[1]}'}; val=${'${BASH_REMATCH[2]}'}
  check_offset "$dir" "$off"
  [ -e "$dir/$off.held" ] && fail "error setting the GPIO line values: Device or resource busy"
  phys=$(( val ^ al ))
  drive "$dir" "$off" "$phys"
  if [ -f "$dir/wire.$off" ]; then
    while read -r to; do drive "$dir" "$to" "$phys"; done < "$dir/wire.$off"
  fi
  echo $$ > "$dir/$off.held"; held+=("$dir/$off.held")
done
nap=''
release() { rm -f "${'${held[@]}'}"; [ -n "$nap" ] && kill "$nap" 2>/dev/null; exit 0; }
trap release TERM INT
[ "$mode" = exit ] && release
# Ends by itself once the simulation is removed, even if its owner never stopped it. One nap
# process a second, waited for in the background: a signal ends the wait at once, and a
# holder costs the machine nothing while it holds (a busy loop here was most of the load).
while [ -d "$STATE" ]; do sleep 1 & nap=$!; wait "$nap"; done`,

  gpioget: String.raw`
rest=()
for a in "$@"; do
  case "$a" in
    --bias=as-is|--bias=pull-up|--bias=pull-down|--bias=disable) ;;
    -l|--active-low) fail "this simulation reads raw levels only" ;;
    -*) fail "unrecognized option '$a'" ;;
    *) rest+=("$a") ;;
  esac
done
[ ${'${#rest[@]}'} -ge 2 ] || fail "at least one GPIO line offset must be specified"
chip_dir "${'${rest[0]}'}"
out=()
for off in "${'${rest[@]:1}'}"; do
  check_offset "$dir" "$off"
  [ -e "$dir/$off.held" ] && fail "error reading GPIO values: Device or resource busy"
  level=0; { read -r level < "$dir/$off"; } 2>/dev/null || level=0
  out+=("$level")
done
echo "${'${out[*]}'}"`,

  gpiomon: String.raw`
fmt=''; rest=()
for a in "$@"; do
  case "$a" in
    --format=*) fmt=${'${a#--format=}'} ;;
    -b|--line-buffered) ;;
    --bias=as-is|--bias=pull-up|--bias=pull-down|--bias=disable) ;;
    -*) fail "unrecognized option '$a'" ;;
    *) rest+=("$a") ;;
  esac
done
[ ${'${#rest[@]}'} -ge 2 ] || fail "at least one GPIO line offset must be specified"
chip_dir "${'${rest[0]}'}"
offs=("${'${rest[@]:1}'}")
declare -A last
touch "$dir/events"
# Changes after this point are followed; the start levels are read after it, so none is lost.
from=$(stat -c %s "$dir/events")
for off in "${'${offs[@]}'}"; do
  check_offset "$dir" "$off"
  last[$off]=0; [ -e "$dir/$off" ] && read -r last[$off] < "$dir/$off"
done
exec 3< <(exec tail -c +$((from + 1)) -f --pid=$$ "$dir/events" 2>/dev/null)
follower=$!
for off in "${'${offs[@]}'}"; do echo $$ > "$dir/$off.mon"; done
stop() {
  for off in "${'${offs[@]}'}"; do rm -f "$dir/$off.mon"; done
  kill "$follower" 2>/dev/null; exit 0
}
trap stop TERM INT
while :; do
  # The follower gone (end of input): stop, and the driver reports a monitor that died.
  read -r off now <&3 || stop
  [ -n "${'${last[$off]+x}'}" ] || continue
  [ "$now" != "${'${last[$off]}'}" ] || continue
  last[$off]=$now
  if [ -n "$fmt" ]; then
    line=${'${fmt//%o/$off}'}; line=${'${line//%e/$now}'}; echo "$line"
  else
    [ "$now" = 1 ] && kind='RISING EDGE' || kind='FALLING EDGE'
    echo "event: $kind offset: $off timestamp: [0.000000000]"
  fi
done`,
};
