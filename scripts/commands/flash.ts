import { parseArgs } from 'node:util';
import { Command, UsageError } from '../command';
import { examineImage, formatReport } from '../../storage/fsck';

const USAGE = [
  'Usage: reader-sim flash fsck|inspect --data DIR [--json]',
  '',
  'Examines the reader flash image DIR/flash.img without changing it.',
  '  inspect  geometry, per-sector wear (histogram), live/dead bytes, record counts',
  '  fsck     the same, then exits 1 when the image cannot be trusted',
  'Both exit 1 for a damaged, truncated or foreign image. --json prints the report as JSON.',
].join('\n');

export const flash: Command = {
  usage: USAGE,
  run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { data: { type: 'string' }, json: { type: 'boolean' } },
    });
    const [action, ...rest] = positionals;
    if (action !== 'fsck' && action !== 'inspect') throw new UsageError('expected fsck or inspect');
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!values.data) throw new UsageError('--data DIR is required');
    const report = examineImage(values.data);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return Promise.resolve(report.problems.length ? 1 : 0);
  },
};
