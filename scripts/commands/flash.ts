import { parseArgs } from 'node:util';
import { Command, UsageError } from '../command';
import { examineImage, formatReport } from '../../storage/fsck';
import { salvageImage, type SalvageReport } from '../../storage/salvage';

const USAGE = [
  'Usage: reader-sim flash fsck|inspect --data DIR [--json]',
  '       reader-sim flash salvage --data DIR --out DIR2|FILE.json [--json]',
  '',
  'Examines the reader flash image DIR/flash.img without changing it.',
  '  inspect  geometry, per-sector wear (histogram), live/dead bytes, record counts',
  '  fsck     the same, then exits 1 when the image cannot be trusted',
  'Both exit 1 for a damaged, truncated or foreign image. --json prints the report as JSON.',
  '  salvage  copies every committed record that still checks out into a fresh image',
  '           DIR2/flash.img (or exports the state to FILE.json) and lists what is lost;',
  '           DIR is only read. Exits 1 when something was lost.',
].join('\n');

export const flash: Command = {
  usage: USAGE,
  run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { data: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' } },
    });
    const [action, ...rest] = positionals;
    if (action !== 'fsck' && action !== 'inspect' && action !== 'salvage') {
      throw new UsageError('expected fsck, inspect or salvage');
    }
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!values.data) throw new UsageError('--data DIR is required');
    if (action === 'salvage') {
      if (!values.out) throw new UsageError('--out DIR2 or --out FILE.json is required');
      const { report } = salvageImage(values.data, values.out);
      console.log(values.json ? JSON.stringify(report, null, 2) : formatSalvage(report));
      return Promise.resolve(report.lost.length ? 1 : 0);
    }
    if (values.out) throw new UsageError('--out is for salvage');
    const report = examineImage(values.data);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return Promise.resolve(report.problems.length ? 1 : 0);
  },
};

function formatSalvage(report: SalvageReport): string {
  const { result } = report;
  const lines = [
    `records found ${report.recordsFound}, kept ${report.recordsKept} in ${report.transactionsKept} transactions`,
    `database version ${result.version}: ${result.credentials} credentials, ${result.users} users`,
    `events ${result.events.firstSeq}..${result.events.lastSeq}`,
    report.lost.length ? 'lost:' : 'lost: nothing',
  ];
  for (const l of report.lost) {
    const where =
      l.sector < 0
        ? ''
        : `sector ${l.sector}${l.offsets ? ` bytes ${l.offsets[0]}..${l.offsets[1]}` : ''}: `;
    lines.push(`  ${where}${l.what}`);
  }
  return lines.join('\n');
}
