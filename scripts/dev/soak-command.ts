import { parseArgs } from 'node:util';
import { Command, UsageError } from '../command';
import type { SoakReport } from './soak';

const USAGE = [
  'Usage: reader-sim soak [--kills N] [--seconds S] [--phones N] [--badges N] [--seed N] [--data DIR] [--json]',
  '',
  'The kill -9 soak (docs/SOAK.md): starts the real reader (`reader-sim start`) as a child',
  'process on a fresh flash image, loads it with virtual phones over the BLE air, badges,',
  'host pushes, event reads/acks and both event streams, kills it with SIGKILL at a seeded',
  'moment, checks the image from outside (fsck, remount: every reported event, every',
  'acknowledged push and ack, every debit behind a grant and a relay unlock, no use over its',
  'limit), restarts it on the same image, and again. Exit 1 on any violation.',
  '',
  '  --kills N       kill -9 this many times (default 50)',
  '  --seconds S     load window per kill, the kill lands at a seeded moment in it (default 3)',
  '  --duration S    keep going until S seconds have passed (at least --kills kills)',
  '  --phones N      virtual phones unlocking over the air (default 3)',
  '  --badges N      pushed badges, presented through the sim badge control (default 8)',
  '  --seed N        seed of the kill moments and the load choices (default 1)',
  '  --data DIR      a fresh data dir to keep (default: a temporary one, removed after)',
  '  --image-mib N   flash image size in MiB (default 4: collection runs under load)',
  '  --site-users N  users without a credential here in every full push (default 300)',
  '  --boot-kills F  share of kills during the boot instead of under load (default 0.1)',
  '  --min-decisions N  no kill under load before N access decisions in the window',
  '  --min-pushes N     no kill under load before N acknowledged pushes in the window',
  '                  (waits on them, up to 60 s; default 0)',
  '  --ts-node       run the reader through bin/reader-sim.js (ts-node) instead of transpiled',
  '  --json          print the whole report as JSON',
].join('\n');

export const soak: Command = {
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseSoakArgs(argv);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const kills = int(values.kills!, '--kills', 1, 100_000);
    const seconds = number(values.seconds!, '--seconds', 0.2, 3600);
    const phones = int(values.phones!, '--phones', 0, 16);
    const badges = int(values.badges!, '--badges', 1, 1000);
    const seed = int(values.seed!, '--seed', 0, 2 ** 31 - 1);
    const imageMiB = int(values['image-mib']!, '--image-mib', 1, 256);
    const siteUsers = int(values['site-users']!, '--site-users', 0, 100_000);
    const bootKills = number(values['boot-kills']!, '--boot-kills', 0, 1);
    const minDecisions = int(values['min-decisions']!, '--min-decisions', 0, 1_000_000);
    const minPushes = int(values['min-pushes']!, '--min-pushes', 0, 1_000_000);
    const durationSeconds =
      values.duration === undefined ? undefined : number(values.duration, '--duration', 1, 604_800);
    const json = values.json!;
    // Loaded here: `reader-sim --help` must not pay for the soak's imports.
    const { runSoak } = await import('./soak');
    const { formatSoakReport } = await import('./soak/report');
    const report: SoakReport = await runSoak({
      kills,
      seconds,
      durationSeconds,
      phones,
      badges,
      seed,
      imageMiB,
      siteUsers,
      bootKills,
      minDecisions,
      minPushes,
      dataDir: values.data,
      keep: values.data !== undefined,
      tsNode: values['ts-node'],
      log: json ? undefined : (line) => console.log(line),
    });
    console.log(json ? JSON.stringify(report, null, 2) : formatSoakReport(report));
    return report.violations.length > 0 ? 1 : 0;
  },
};

function parseSoakArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kills: { type: 'string', default: '50' },
        seconds: { type: 'string', default: '3' },
        duration: { type: 'string' },
        phones: { type: 'string', default: '3' },
        badges: { type: 'string', default: '8' },
        seed: { type: 'string', default: '1' },
        data: { type: 'string' },
        'image-mib': { type: 'string', default: '4' },
        'site-users': { type: 'string', default: '300' },
        'boot-kills': { type: 'string', default: '0.1' },
        'min-decisions': { type: 'string', default: '0' },
        'min-pushes': { type: 'string', default: '0' },
        'ts-node': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

function number(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9.]+$/.test(text) || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a number in [${min}, ${max}], got '${text}'`);
  }
  return n;
}

function int(text: string, flag: string, min: number, max: number): number {
  const n = number(text, flag, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got '${text}'`);
  return n;
}
