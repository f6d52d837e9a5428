import { parseArgs } from 'node:util';
import { Command, UsageError } from '../command';
import { suites } from './bench';
import { BenchRow, formatTable } from './bench/suite';

export const bench: Command = {
  get usage() {
    return [
      'Usage: reader-sim bench [SUITE ...] [--json] [--quick]',
      '',
      'Runs the named suites (all when none is named) and prints one table of figures',
      'with their targets. --json prints the rows as JSON; --quick uses small workloads.',
      '',
      'Suites:',
      ...suites.map((s) => `  ${s.name.padEnd(8)}  ${s.summary}`),
    ].join('\n');
  },
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, quick: { type: 'boolean' } },
    });
    const chosen = positionals.length ? positionals : suites.map((s) => s.name);
    const unknown = chosen.filter((n) => !suites.some((s) => s.name === n));
    if (unknown.length) {
      throw new UsageError(
        `unknown suite ${unknown.join(', ')} (have: ${suites.map((s) => s.name).join(', ')})`,
      );
    }
    const progress = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
    const rows: BenchRow[] = [];
    for (const suite of suites.filter((s) => chosen.includes(s.name))) {
      progress(`bench ${suite.name} ...`);
      rows.push(...(await suite.run({ quick: values.quick ?? false, progress })));
    }
    console.log(values.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
    if (values.quick && !values.json) {
      console.log(
        '--quick: small workloads on a cold process; the targets are set for the full run',
      );
    }
    return 0;
  },
};
