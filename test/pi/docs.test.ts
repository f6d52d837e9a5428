import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PI_CONFIG, loopbackTable, parsePiConfig, wiringTable } from '../../firmware/pi';

const DOC = path.join(__dirname, '../../docs/PI.md');

const SECTIONS: Record<string, () => string> = {
  wiring: () => wiringTable(),
  'pi-json': () => ['```json', JSON.stringify(DEFAULT_PI_CONFIG, null, 2), '```'].join('\n'),
  loopback: () => loopbackTable(),
};

function render(doc: string): string {
  let out = doc;
  for (const [name, body] of Object.entries(SECTIONS)) {
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/PI.md lacks the ${name} markers`);
    out = `${out.slice(0, from + begin.length)}\n${body()}\n${out.slice(to)}`;
  }
  return out;
}

describe('docs/PI.md', () => {
  it('wiring, pi.json defaults and loopback tables match the code', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const expected = render(doc);
    if (process.env.UPDATE_DOCS === '1' && expected !== doc) fs.writeFileSync(DOC, expected);
    else expect(doc).toBe(expected);
  });

  it('the pi.json shown in the doc is a valid pi.json', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const json = /<!-- pi-json:begin -->\n```json\n([\s\S]*?)\n```/.exec(doc)![1];
    expect(parsePiConfig(JSON.parse(json))).toEqual(DEFAULT_PI_CONFIG);
  });
});
