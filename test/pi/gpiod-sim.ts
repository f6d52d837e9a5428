import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A simulated GPIO chip behind the libgpiod 1.6 command-line tools: gpiodetect, gpioset,
 * gpioget and gpiomon as small bash scripts in a temp directory that answer with 1.6's syntax
 * and output, over a state directory (one file per line level). Strict like the real ones:
 * unknown options, a missing chip, an offset out of range and a line already held (EBUSY)
 * are errors. `wire(a, b)` adds a loopback wire (the HIL rig's), so a level set on a reaches b.
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
      fs.writeFileSync(file, `#!/usr/bin/env bash\nSTATE='${this.state}'\n${COMMON}\n${body}\n`);
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

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const COMMON = String.raw`
tool=$(basename "$0")
echo "$tool $*" >> "$STATE/calls"
fail() { echo "$tool: $*" >&2; exit 1; }
put() { echo "$2" > "$1.tmp.$$" && mv "$1.tmp.$$" "$1"; }
chip_dir() {
  [ -d "$STATE/$1" ] || fail "unable to open chip '$1': No such file or directory"
  echo "$STATE/$1"
}
check_offset() {
  [[ "$2" =~ ^[0-9]+$ ]] || fail "invalid GPIO offset: $2"
  [ "$2" -lt "$(cat "$1/.lines")" ] || fail "offset $2 out of range"
}
`;

const TOOLS: Record<string, string> = {
  gpiodetect: String.raw`
[ $# -eq 0 ] || fail "unrecognized argument $1"
cat "$STATE/chips"`,

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
dir=$(chip_dir "${'${rest[0]}'}") || exit 1
held=()
for kv in "${'${rest[@]:1}'}"; do
  [[ "$kv" =~ ^([0-9]+)=([01])$ ]] || fail "invalid offset<->value mapping: $kv"
  off=${'${BASH_REMATCH[1]}'}; val=${'${BASH_REMATCH[2]}'}
  check_offset "$dir" "$off"
  [ -e "$dir/$off.held" ] && fail "error setting the GPIO line values: Device or resource busy"
  phys=$(( val ^ al ))
  put "$dir/$off" "$phys"
  if [ -f "$dir/wire.$off" ]; then
    for to in $(cat "$dir/wire.$off"); do put "$dir/$to" "$phys"; done
  fi
  echo $$ > "$dir/$off.held"; held+=("$dir/$off.held")
done
release() { rm -f "${'${held[@]}'}"; exit 0; }
trap release TERM INT
[ "$mode" = exit ] && release
while :; do sleep 0.02; done`,

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
dir=$(chip_dir "${'${rest[0]}'}") || exit 1
out=()
for off in "${'${rest[@]:1}'}"; do
  check_offset "$dir" "$off"
  [ -e "$dir/$off.held" ] && fail "error reading GPIO values: Device or resource busy"
  out+=("$(cat "$dir/$off" 2>/dev/null || echo 0)")
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
dir=$(chip_dir "${'${rest[0]}'}") || exit 1
offs=("${'${rest[@]:1}'}")
declare -A last
for off in "${'${offs[@]}'}"; do
  check_offset "$dir" "$off"
  last[$off]=0; [ -e "$dir/$off" ] && read -r last[$off] < "$dir/$off"
done
trap 'exit 0' TERM INT
while :; do
  for off in "${'${offs[@]}'}"; do
    # Builtins only: this loop runs every 10 ms for the whole test.
    now=0; [ -e "$dir/$off" ] && read -r now < "$dir/$off"
    if [ "$now" != "${'${last[$off]}'}" ]; then
      last[$off]=$now
      if [ -n "$fmt" ]; then
        line=${'${fmt//%o/$off}'}; line=${'${line//%e/$now}'}; echo "$line"
      else
        [ "$now" = 1 ] && kind='RISING EDGE' || kind='FALLING EDGE'
        echo "event: $kind offset: $off timestamp: [0.000000000]"
      fi
    fi
  done
  sleep 0.01
done`,
};
