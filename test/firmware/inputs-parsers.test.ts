import fc from 'fast-check';
import type { BadgeFrame, BadgeParser } from '../../firmware/inputs/frame';
import { IsonasAsciiParser } from '../../firmware/inputs/isonas-ascii';
import { Rdm6300Parser, rdm6300Frame } from '../../firmware/inputs/rdm6300';
import { fuzzParams } from '../fuzz/params';

const STX = '\x02';
const ETX = '\x03';

/** Feeds bytes in the given chunk sizes and returns a readable summary of the frames. */
function parse(parser: BadgeParser, input: string | Buffer, chunkSizes: number[] = []): string[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const frames: BadgeFrame[] = [];
  let offset = 0;
  for (const size of chunkSizes) {
    frames.push(...parser.push(bytes.subarray(offset, offset + size)));
    offset += size;
  }
  frames.push(...parser.push(bytes.subarray(offset)));
  return frames.map(summary);
}

function summary(frame: BadgeFrame): string {
  return frame.kind === 'badge'
    ? `badge ${frame.value}`
    : `bad ${frame.reason} ${frame.bytes.toString('latin1')}`;
}

describe('IsonasAsciiParser (RS-232 ASCII, 2-9 digits, CR/LF)', () => {
  test.each([
    ['CR LF', '12345\r\n'],
    ['CR only', '12345\r'],
    ['LF only', '12345\n'],
  ])('accepts digits terminated by %s', (_name, input) => {
    expect(parse(new IsonasAsciiParser(), input)).toEqual(['badge 12345']);
  });

  test('accepts the shortest and longest valid credentials', () => {
    expect(parse(new IsonasAsciiParser(), '12\r\n123456789\r\n')).toEqual([
      'badge 12',
      'badge 123456789',
    ]);
  });

  test('keeps leading zeros: the credential is the digit string', () => {
    expect(parse(new IsonasAsciiParser(), '000042\r\n')).toEqual(['badge 000042']);
  });

  test('rejects wrong lengths and non-digits, then resynchronises on the next line', () => {
    expect(parse(new IsonasAsciiParser(), '7\r\n1234567890\r\n12a4\r\n 1234\r\n4321\r\n')).toEqual([
      'bad wrong-length 7',
      'bad wrong-length 1234567890',
      'bad non-digit 12a4',
      'bad non-digit  1234',
      'badge 4321',
    ]);
  });

  test('empty lines are not frames', () => {
    expect(parse(new IsonasAsciiParser(), '\r\n\r\n\n\r')).toEqual([]);
  });

  test('an overlong line is reported once and dropped up to its terminator', () => {
    const noise = '9'.repeat(100);
    expect(parse(new IsonasAsciiParser(), `${noise}\r\n5678\r\n`)).toEqual([
      `bad overlong ${'9'.repeat(33)}`,
      'badge 5678',
    ]);
  });

  test('a line split across chunks at every position parses the same', () => {
    const input = '1234\r\nxx\r\n98765\r\n';
    const whole = parse(new IsonasAsciiParser(), input);
    for (let cut = 1; cut < input.length; cut++) {
      expect(parse(new IsonasAsciiParser(), input, [cut])).toEqual(whole);
    }
    expect(parse(new IsonasAsciiParser(), input, Array(input.length).fill(1))).toEqual(whole);
  });

  test('flush reports a partial line as truncated and resets', () => {
    const parser = new IsonasAsciiParser();
    expect(parser.push(Buffer.from('123'))).toEqual([]);
    expect(parser.flush().map(summary)).toEqual(['bad truncated 123']);
    expect(parser.flush()).toEqual([]);
    expect(parse(parser, '55\r')).toEqual(['badge 55']);
  });
});

describe('Rdm6300Parser (STX, 10 hex, 2 hex XOR checksum, ETX)', () => {
  // 62 ^ E3 ^ 08 ^ 6C ^ ED = 08
  const GOOD = `${STX}62E3086CED08${ETX}`;

  test('accepts a frame with a correct checksum; the value is hex: + the 10 data digits', () => {
    expect(parse(new Rdm6300Parser(), GOOD)).toEqual(['badge hex:62E3086CED']);
  });

  test('accepts lower-case hex and reports the value upper-case', () => {
    expect(parse(new Rdm6300Parser(), `${STX}62e3086ced08${ETX}`)).toEqual([
      'badge hex:62E3086CED',
    ]);
  });

  test('rdm6300Frame builds the same frame', () => {
    expect(rdm6300Frame('62E3086CED').toString('latin1')).toBe(GOOD);
    expect(() => rdm6300Frame('62E3')).toThrow(RangeError);
  });

  test.each([
    ['bad-checksum', `${STX}62E3086CED09${ETX}`],
    ['wrong-length', `${STX}62E3086CED${ETX}`],
    ['non-hex', `${STX}62E3086CEZ08${ETX}`],
  ])('rejects a frame with %s', (reason, frame) => {
    expect(parse(new Rdm6300Parser(), frame + GOOD)).toEqual([
      `bad ${reason} ${frame}`,
      'badge hex:62E3086CED',
    ]);
  });

  test('garbage between frames is reported, and the frames around it still read', () => {
    expect(parse(new Rdm6300Parser(), `${GOOD}noise\r\n${GOOD}`)).toEqual([
      'badge hex:62E3086CED',
      'bad garbage noise\r\n',
      'badge hex:62E3086CED',
    ]);
  });

  test('a frame cut short by the next STX is truncated; the next frame reads', () => {
    expect(parse(new Rdm6300Parser(), `${STX}62E30${GOOD}`)).toEqual([
      `bad truncated ${STX}62E30`,
      'badge hex:62E3086CED',
    ]);
  });

  test('an overlong frame is reported once and its tail is skipped silently', () => {
    const long = `${STX}62E3086CED08FFFF${ETX}`;
    expect(parse(new Rdm6300Parser(), long + GOOD)).toEqual([
      `bad overlong ${STX}62E3086CED08F`,
      'badge hex:62E3086CED',
    ]);
  });

  test('a long run of garbage is reported in bounded pieces', () => {
    const frames = parse(new Rdm6300Parser(), 'x'.repeat(150) + GOOD);
    expect(frames).toEqual([
      `bad garbage ${'x'.repeat(64)}`,
      `bad garbage ${'x'.repeat(64)}`,
      `bad garbage ${'x'.repeat(22)}`,
      'badge hex:62E3086CED',
    ]);
  });

  test('flush reports a partial frame as truncated, leftover bytes as garbage', () => {
    const parser = new Rdm6300Parser();
    parser.push(Buffer.from(`${STX}62E3`, 'latin1'));
    expect(parser.flush().map(summary)).toEqual([`bad truncated ${STX}62E3`]);
    parser.push(Buffer.from('zz'));
    expect(parser.flush().map(summary)).toEqual(['bad garbage zz']);
  });

  test('any chunking of a byte stream gives the same frames (property)', () => {
    const piece = fc.oneof(
      fc.stringMatching(/^[0-9A-F]{10}$/).map((hex) => rdm6300Frame(hex).toString('latin1')),
      fc.string({ maxLength: 20 }),
      fc.constantFrom(STX, ETX, `${STX}62E3086CED09${ETX}`),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 40 }),
        (pieces, cuts) => {
          const input = Buffer.from(pieces.join(''), 'latin1');
          const whole = new Rdm6300Parser();
          const chunked = new Rdm6300Parser();
          const expected = [...whole.push(input), ...whole.flush()].map(summary);
          const got = [...parse(chunked, input, cuts), ...chunked.flush().map(summary)];
          expect(got).toEqual(expected);
        },
      ),
      fuzzParams(300, { seed: 20260105 }),
    );
  });

  test('every valid frame in a noisy stream is read exactly once (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9A-F]{10}$/), { minLength: 1, maxLength: 8 }),
        fc.array(
          fc.string({ maxLength: 12 }).map((s) => s.split(STX).join('')),
          {
            minLength: 8,
            maxLength: 8,
          },
        ),
        (cards, noise) => {
          const input = cards.map((card, i) => noise[i] + rdm6300Frame(card).toString('latin1'));
          const parser = new Rdm6300Parser();
          const badges = parser
            .push(Buffer.from(input.join(''), 'latin1'))
            .filter((frame) => frame.kind === 'badge')
            .map((frame) => (frame.kind === 'badge' ? frame.value : ''));
          expect(badges).toEqual(cards.map((card) => `hex:${card}`));
        },
      ),
      fuzzParams(200, { seed: 20260105 }),
    );
  });
});
