import { runCli } from '../run-cli';

// Boots two small fleets, decides presentations, unlocks a phone and connects to a Mosquitto:
// about 15 s of work; a generous deadline for a loaded machine.
jest.setTimeout(4 * 60_000);

/** The printed table's cells, cut at the columns its dash line marks out. */
function tableRows(lines: string[]): { header: string[]; rows: string[][]; after: string[] } {
  const dashes = lines.findIndex((l) => /^-+(\s+-*)+$/.test(l));
  expect(dashes).toBe(1);
  // Columns are joined by two spaces; an empty column (no verdicts) has no dashes of its own.
  const spans: number[] = [];
  let at = 0;
  for (const dash of lines[1]!.split('  ')) {
    spans.push(at);
    at += dash.length + 2;
  }
  const cut = (line: string) =>
    spans.map((start, i) => line.slice(start, spans[i + 1] ?? line.length).trim());
  const end = lines.indexOf('', 2);
  return {
    header: cut(lines[0]!),
    rows: lines.slice(2, end).map(cut),
    after: lines.slice(end + 1),
  };
}

describe('reader-sim bench fleet --quick', () => {
  it('prints every fleet figure as a number, with the bound of each row that has one', async () => {
    const { code, out } = await runCli(['bench', 'fleet', '--quick']);
    expect(code).toBe(0);
    const { header, rows, after } = tableRows(out.join('\n').split('\n'));
    expect(header).toEqual(['suite', 'metric', 'value', 'unit', 'target', 'of target', '', 'note']);

    // Every figure of the suite, in order (the fleet sizes are the quick ones).
    const metrics = rows.map((r) => r[1]!);
    const expected = [
      /^boot \d+ readers, file images$/,
      /^restart \d+ readers, file images$/,
      /^process RSS, \d+ readers, file images$/,
      /^RSS per reader, \d+ readers, file images$/,
      /^boot \d+ readers, memory flash \+ BLE$/,
      /^process RSS, \d+ readers, memory flash \+ BLE$/,
      /^RSS per reader, \d+ readers, memory flash \+ BLE$/,
      /^idle CPU, \d+ readers, memory flash \+ BLE$/,
      /^presentations decided per CPU second$/,
      /^ES256 verify alone per CPU second$/,
      /^presentations decided per wall second$/,
      /^phone-to-green at reader-\d+ under load p50$/,
      /^phone-to-green at reader-\d+ under load p99$/,
      /^MQTT events delivered to the broker across the fleet$/,
      /^MQTT connect and backlog, \d+ readers$/,
    ];
    expect(metrics).toHaveLength(expected.length);
    metrics.forEach((m, i) => expect(m).toMatch(expected[i]!));

    for (const [suite, metric, value, unit, , , , note] of rows) {
      expect(suite).toBe('fleet');
      // A number (no NaN for a skipped part), and work was measured. Idle CPU may be 0, and a
      // few small readers may move the RSS by nothing or less (a collection frees as much).
      expect(value).toMatch(/^-?\d+(\.\d+)?(e[+-]\d+)?$/);
      if (!/^(idle CPU|RSS per reader)/.test(metric!)) expect(Number(value)).toBeGreaterThan(0);
      expect(unit).not.toBe('');
      expect(note).not.toBe('');
    }

    // The rows with a target print it, the share of it used and the verdict (met or not: the
    // quick run is no measure of the targets); the others print none of the three.
    const targeted = rows.filter((r) => r[4] !== '');
    expect(targeted.map((r) => [r[1], r[4]])).toEqual([
      ['presentations decided per CPU second', '> 5000 /s'],
    ]);
    for (const r of targeted) {
      expect(r[5]).toMatch(/^\d+\.\d\dx$/);
      expect(r[6]).toMatch(/^(ok|MISS)$/);
    }
    for (const r of rows.filter((r) => r[4] === '')) expect([r[5], r[6]]).toEqual(['', '']);

    expect(after[0]).toMatch(
      new RegExp(
        `^${rows.length} figures, ${targeted.length} with a target: \\d+ met, \\d+ missed`,
      ),
    );
    expect(after[1]).toMatch(/^--quick: /);
  });
});
