import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  HostApiError,
  HostClient,
  readerUrlProblem,
  type StreamMessage,
} from '../../firmware/api/client';
import { ACCESS_POINT_COMMANDS } from '../../firmware/access-point';
import type { RawData } from '../../firmware/foundation/model';
import { DEFAULT_API_PORT } from '../../firmware/api/address';
import { readToken, TOKEN_FILE } from '../../firmware/api/token';
import type { DatabaseContent, EventRecord } from '../../firmware/foundation/model';
import type { TimelineRecording } from '../../firmware/panel/timeline/recording';
import { renderTimelineSvg } from '../../firmware/panel/timeline/svg';
import { TORN_WRITE_MODELS } from '../../storage/power-cut';
import { Command, UsageError } from '../command';

const USAGE = `Usage: reader-sim host [--url URL] [--token T | --token-file FILE | --data DIR] [--ca FILE] [--json] COMMAND ...

A thin client of a running reader's host API (see docs/API.md).

Commands:
  status                       reader, clock, database, LED, relay, door, events, flash
  push FILE                    full "Update Access Points" (JSON database; - = stdin)
  patch FILE                   delta push (JSON: baseVersion, upsert, delete)
  content                      the whole database, and the uses so far per credential
  events [--after SEQ] [--limit N] [--follow]
                               buffered events (--follow: live stream until Ctrl-C)
  ack SEQ                      acknowledge every event up to SEQ
  state [STATE]                show, or set: ${ACCESS_POINT_COMMANDS.join(' | ')}
  enroll USER [--wait] [--timeout MS]
                               enroll mode for a user (--wait: until captured/timed out)
  enrollment ID [--issue CREDENTIAL_ID]
                               one enrollment's state and Raw Data (--issue: push the
                               captured phone key as a mobile credential of the user)
  time [ISO]                   show, or set the reader's clock
  config [KEY=VALUE ...]       show, or change keys (values as JSON: 5000, true, "x")
  sim badge VALUE              present a badge
  sim keypad KEYS              type keys (digits, # enter, * clear)
  sim rex                      press request-to-exit
  sim door open|close          the door contact
  sim tamper on|off            the tamper input
  sim enroll-capture DEVICE_ID PUBLIC_KEY
                               what a phone sends in enroll mode
  sim link [cut|restore]       the host link
  sim power-cycle [--after-flash-ops N [--model M]]
                               restart from flash (or cut power inside the Nth flash
                               operation, leaving a torn write of model M: ${TORN_WRITE_MODELS.join(', ')})
  timeline --out FILE.svg [--since T] [--until T]
                               LED, buzzer, relay, door and decisions as lanes over time
                               (T: epoch ms, ISO 8601, or 30s/5m before the reader's now;
                               default: since the API started; --json also prints the recording)

Options:
  --url URL     the reader's API (default $READER_SIM_URL or http://127.0.0.1:${DEFAULT_API_PORT})
  --token T     bearer token (default $READER_SIM_TOKEN, else DIR/${TOKEN_FILE})
  --token-file FILE
                a file holding the token (the ready: line of reader-sim start names it)
  --data DIR    the reader's data directory, to read its token (default ./data)
  --reader ID   one reader of a site (start --readers/--site): its routes /readers/ID/...
  --ca FILE     PEM certificate to trust for an https:// reader (its self-signed certificate
                or its CA; default $READER_SIM_CA; NODE_EXTRA_CA_CERTS=FILE works too)
  --json        print the API's JSON instead of the readable form`;

interface Context {
  client: HostClient;
  json: boolean;
  values: Record<string, string | boolean | undefined>;
}

export const host: Command = {
  usage: USAGE,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          url: { type: 'string' },
          reader: { type: 'string' },
          token: { type: 'string' },
          'token-file': { type: 'string' },
          data: { type: 'string' },
          issue: { type: 'string' },
          ca: { type: 'string' },
          json: { type: 'boolean' },
          follow: { type: 'boolean', short: 'f' },
          after: { type: 'string' },
          limit: { type: 'string' },
          wait: { type: 'boolean' },
          timeout: { type: 'string' },
          'after-flash-ops': { type: 'string' },
          model: { type: 'string' },
          out: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...args] = positionals;
    if (!command) throw new UsageError('which command? (see reader-sim host --help)');
    const url = values.url ?? process.env.READER_SIM_URL ?? `http://127.0.0.1:${DEFAULT_API_PORT}`;
    const urlProblem = readerUrlProblem(url);
    if (urlProblem) throw new UsageError(`${values.url ? '--url' : 'the URL'} ${urlProblem}`);
    const ca = readCa(values.ca ?? (process.env.READER_SIM_CA || undefined));
    const token = resolveToken(values);
    const ctx: Context = {
      client: new HostClient(url, token.value, {
        ca,
        keepAlive: false,
        ...(values.reader === undefined ? {} : { reader: values.reader }),
      }),
      json: values.json ?? false,
      values,
    };
    try {
      return await dispatch(ctx, command, args);
    } catch (err) {
      if (err instanceof HostApiError && err.status === 401) {
        throw new Error(
          `${err.message}; the token from ${token.source} is not the token of the reader at ${url}`,
        );
      }
      if (err instanceof HostApiError) throw new Error(err.message);
      const cause = (err as { cause?: { code?: string } }).cause;
      // By name, not instanceof: fetch's TypeError may come from another realm (tests' vm).
      const network = (err as Error | undefined)?.name === 'TypeError' && cause?.code;
      if (network && TLS_TRUST_ERRORS.has(cause.code!)) {
        throw new Error(
          `the reader at ${url} has a certificate this client does not trust (${cause.code}); ` +
            'pass --ca FILE (its certificate or CA)',
        );
      }
      if (network) {
        throw new Error(`cannot reach the reader at ${url} (${cause.code}); is it running?`);
      }
      throw err;
    }
  },
};

/** Node's codes for a certificate that does not chain to a trusted root or name the host. */
const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`--ca ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca ${file} is not a PEM certificate`);
  }
  return pem;
}

/** The bearer token and where it came from (named when the reader refuses it). */
function resolveToken(values: { token?: string; 'token-file'?: string; data?: string }): {
  value: string;
  source: string;
} {
  if (values.token !== undefined) return { value: values.token, source: '--token' };
  const file = values['token-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(
        `--token-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    if (!text) throw new UsageError(`--token-file ${file} is empty`);
    return { value: text, source: file };
  }
  if (process.env.READER_SIM_TOKEN) {
    return { value: process.env.READER_SIM_TOKEN, source: '$READER_SIM_TOKEN' };
  }
  const dir = values.data ?? './data';
  const tokenFile = path.join(dir, TOKEN_FILE);
  try {
    return { value: readToken(dir), source: tokenFile };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Without a token every call is a bare 401: say which file was looked for instead.
    throw new UsageError(
      code === 'ENOENT'
        ? `no token: ${tokenFile} does not exist; pass the reader's data directory (--data DIR), ` +
            `its token file (--token-file FILE, named on the reader's ready: line) or --token T`
        : `cannot read the token in ${tokenFile} (${code})`,
    );
  }
}

function seqArg(text: string | undefined, name: string): number {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) {
    throw new UsageError(`${name} must be a non-negative integer, got ${text ?? 'nothing'}`);
  }
  return Number(text);
}

function readJsonFile(file: string | undefined): string {
  if (!file) throw new UsageError('which file? (a JSON file, or - for stdin)');
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  return text;
}

function print(ctx: Context, data: unknown, readable: () => string): void {
  console.log(ctx.json ? JSON.stringify(data, null, 2) : readable());
}

async function dispatch(ctx: Context, command: string, args: string[]): Promise<number> {
  const { client } = ctx;
  switch (command) {
    case 'status': {
      const s = await client.status();
      print(ctx, s, () => formatStatus(s));
      return 0;
    }
    case 'push':
    case 'patch': {
      const body = readJsonFile(args[0]);
      const result = command === 'push' ? await client.push(body) : await client.patch(body);
      print(
        ctx,
        result,
        () => `database version ${result.version}: ${formatCounts(result.counts)}`,
      );
      return 0;
    }
    case 'events':
      return ctx.values.follow ? follow(ctx) : listEvents(ctx);
    case 'ack': {
      const stats = await client.ack(seqArg(args[0], 'SEQ'));
      print(ctx, stats, () => `acknowledged up to ${stats.ackedSeq} (newest ${stats.lastSeq})`);
      return 0;
    }
    case 'state': {
      const state = args[0]
        ? await client.setAccessPointState(args[0])
        : await client.accessPointState();
      print(ctx, state, () => formatAccessPoint(state as Record<string, unknown>));
      return 0;
    }
    case 'enroll':
      return enroll(ctx, args[0]);
    case 'enrollment': {
      if (!args[0]) throw new UsageError('which enrollment id?');
      const e = await client.enrollment(args[0]);
      if (typeof ctx.values.issue === 'string') return issue(ctx, e, ctx.values.issue);
      print(ctx, e, () => formatEnrollment(e));
      return 0;
    }
    case 'content': {
      const c = await client.content();
      print(ctx, c, () =>
        [
          `database version ${c.version}: ${formatCounts(countsOf(c.content))}`,
          ...c.content.credentials.map(
            (cr) =>
              `  ${cr.id}  ${cr.kind} ${cr.value}  user ${cr.userId}  uses ${c.uses[cr.id] ?? 0}` +
              `${cr.useLimit === undefined ? '' : `/${cr.useLimit}`}${cr.enabled ? '' : '  disabled'}`,
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'time': {
      let t;
      if (args[0]) {
        const ms = Date.parse(args[0]);
        if (Number.isNaN(ms)) throw new UsageError(`not a date-time: ${args[0]}`);
        t = await client.setTime(new Date(ms).toISOString());
      } else {
        t = await client.time();
      }
      print(ctx, t, () => t.time);
      return 0;
    }
    case 'config': {
      const result = args.length
        ? (await client.patchConfig(parseAssignments(args))).config
        : await client.config();
      print(ctx, result, () =>
        Object.entries(result)
          .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
          .join('\n'),
      );
      return 0;
    }
    case 'timeline':
      return timeline(ctx);
    case 'sim':
      return sim(ctx, args);
    default:
      throw new UsageError(`unknown command '${command}' (see reader-sim host --help)`);
  }
}

/** Fetches the reader's recording and draws it locally (same renderer as timeline.svg). */
async function timeline(ctx: Context): Promise<number> {
  const out = ctx.values.out;
  if (typeof out !== 'string' || out === '') throw new UsageError('timeline needs --out FILE.svg');
  const query = new URLSearchParams();
  for (const key of ['since', 'until'] as const) {
    const value = ctx.values[key];
    if (typeof value === 'string') query.set(key, value);
  }
  const q = query.toString();
  const recording = await ctx.client.request<TimelineRecording>(
    'GET',
    `/panel/timeline${q ? `?${q}` : ''}`,
  );
  fs.writeFileSync(out, renderTimelineSvg(recording));
  print(
    ctx,
    recording,
    () =>
      `wrote ${out}: ${new Date(recording.from).toISOString()} to ${new Date(recording.to).toISOString()}, ` +
      `${recording.changes.length} output changes, ${recording.decisions.length} decisions`,
  );
  return 0;
}

function parseAssignments(args: string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got ${arg}`);
    const raw = arg.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      // A bare word is a string value.
      if (!(err instanceof SyntaxError)) throw err;
    }
    patch[arg.slice(0, eq)] = value;
  }
  return patch;
}

async function listEvents(ctx: Context): Promise<number> {
  const after = ctx.values.after === undefined ? 0 : seqArg(ctx.values.after as string, '--after');
  const limit =
    ctx.values.limit === undefined ? undefined : seqArg(ctx.values.limit as string, '--limit');
  const page = await ctx.client.events(after, limit);
  print(ctx, page, () =>
    [
      ...page.events.map(formatEvent),
      `${page.events.length} event(s); newest ${page.lastSeq}, acknowledged ${page.ackedSeq}, dropped ${page.dropped}${page.more ? `; more after ${page.next}` : ''}`,
    ].join('\n'),
  );
  return 0;
}

async function follow(ctx: Context): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const after =
    ctx.values.after === undefined ? undefined : seqArg(ctx.values.after as string, '--after');
  try {
    const last = await ctx.client.stream(
      (m: StreamMessage) => {
        if (ctx.json) console.log(JSON.stringify(m));
        else if (m.type === 'event') console.log(formatEvent(m.data));
        else if (m.type === 'hello') console.error(`following events after ${m.data.after}`);
        else console.error(`stream ended: ${m.type} ${m.data.state}`);
      },
      { after, signal: controller.signal },
    );
    return controller.signal.aborted || last === undefined || last === 'event' ? 0 : 1;
  } finally {
    process.off('SIGINT', stop);
  }
}

async function enroll(ctx: Context, userId: string | undefined): Promise<number> {
  if (!userId) throw new UsageError('which user id?');
  const timeout =
    ctx.values.timeout === undefined
      ? undefined
      : seqArg(ctx.values.timeout as string, '--timeout');
  let e = await ctx.client.enroll(userId, timeout);
  if (!ctx.values.wait) {
    print(ctx, e, () => formatEnrollment(e));
    return 0;
  }
  if (!ctx.json) console.error(`enroll ${e.id}: waiting for a phone ...`);
  while (e.state === 'pending') {
    await new Promise((resolve) => setTimeout(resolve, 500));
    e = await ctx.client.enrollment(e.id);
  }
  print(ctx, e, () => formatEnrollment(e));
  return e.state === 'captured' ? 0 : 1;
}

function countsOf(content: DatabaseContent): Record<string, number> {
  return Object.fromEntries(Object.entries(content).map(([table, rows]) => [table, rows.length]));
}

/**
 * What the management system does with a captured enrollment: a delta that adds the phone's
 * key as a mobile credential of the enrolled user, opening every access point.
 */
async function issue(
  ctx: Context,
  e: Record<string, unknown> & { id: string; state: string },
  credentialId: string,
): Promise<number> {
  const raw = e.rawData as RawData | undefined;
  if (e.state !== 'captured' || !raw) {
    throw new Error(
      `enrollment ${e.id} is ${e.state}: nothing to issue until a phone has enrolled (reader-sim phone enroll)`,
    );
  }
  const { version } = await ctx.client.database();
  const result = await ctx.client.patch({
    baseVersion: version,
    upsert: {
      credentials: [
        {
          id: credentialId,
          userId: String(e.userId),
          kind: 'mobile',
          value: raw.deviceId,
          publicKey: raw.publicKey,
          enabled: true,
          accessPoints: ['*'],
        },
      ],
    },
  });
  print(
    ctx,
    result,
    () =>
      `database version ${result.version}: credential ${credentialId} (mobile, device ${raw.deviceId}) for user ${String(e.userId)}`,
  );
  return 0;
}

async function sim(ctx: Context, args: string[]): Promise<number> {
  const { client } = ctx;
  const [control, arg, arg2] = args;
  let result: unknown;
  switch (control) {
    case 'badge':
      if (!arg) throw new UsageError('sim badge VALUE');
      return presented(ctx, () => client.sim.badge(arg));
    case 'keypad':
      if (!arg) throw new UsageError('sim keypad KEYS');
      return presented(ctx, () => client.sim.keypad(arg));
    case 'rex':
      result = await client.sim.rex();
      break;
    case 'door':
      if (arg !== 'open' && arg !== 'close') throw new UsageError('sim door open|close');
      result = await client.sim.door(arg);
      break;
    case 'tamper':
      if (arg !== 'on' && arg !== 'off') throw new UsageError('sim tamper on|off');
      result = await client.sim.tamper(arg === 'on');
      break;
    case 'enroll-capture':
      if (!arg || !arg2) throw new UsageError('sim enroll-capture DEVICE_ID PUBLIC_KEY');
      result = await client.sim.enrollCapture({ deviceId: arg, publicKey: arg2 });
      break;
    case 'link':
      if (arg !== undefined && arg !== 'cut' && arg !== 'restore') {
        throw new UsageError('sim link [cut|restore]');
      }
      result = arg ? await client.sim.setLink(arg) : await client.sim.link();
      break;
    case 'power-cycle': {
      const ops = ctx.values['after-flash-ops'];
      const model = ctx.values.model as string | undefined;
      if (model !== undefined && ops === undefined) {
        throw new UsageError('--model needs --after-flash-ops');
      }
      result = await client.sim.powerCycle(
        ops === undefined ? undefined : seqArg(ops as string, '--after-flash-ops'),
        model,
      );
      break;
    }
    default:
      throw new UsageError(`unknown sim control '${control ?? ''}' (see reader-sim host --help)`);
  }
  print(ctx, result, () =>
    Object.entries(result as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n'),
  );
  return 0;
}

/** Presents an input, then shows the access events it produced (the reader decides async). */
async function presented(ctx: Context, present: () => Promise<unknown>): Promise<number> {
  const before = (await ctx.client.status()) as { events: { lastSeq: number } };
  await present();
  let found: EventRecord[] = [];
  for (let tries = 0; tries < 20 && found.length === 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    found = (await ctx.client.events(before.events.lastSeq)).events.filter(
      (e) => e.type === 'access',
    );
  }
  print(ctx, { accepted: true, events: found }, () =>
    found.length
      ? found.map(formatEvent).join('\n')
      : 'accepted (no decision yet: waiting for more input?)',
  );
  return 0;
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

function formatAccessPoint(ap: Record<string, unknown>): string {
  const extras = [ap.scheduleOpen ? 'schedule window open' : '', ap.enroll ? 'enroll mode' : '']
    .filter(Boolean)
    .join(', ');
  return `${String(ap.state)}${extras ? ` (${extras})` : ''}`;
}

function formatEnrollment(e: Record<string, unknown>): string {
  const lines = [`enrollment ${String(e.id)}: ${String(e.state)} (user ${String(e.userId)})`];
  if (e.rawData) lines.push(`raw data: ${JSON.stringify(e.rawData)}`);
  return lines.join('\n');
}

export function formatEvent(e: EventRecord): string {
  const parts = [
    `#${e.seq}`,
    new Date(e.ts).toISOString(),
    e.type,
    e.decision ? `${e.decision}${e.reason ? `: ${e.reason}` : ''}` : '',
    e.credentialId ? `credential ${e.credentialId}` : '',
    e.userId ? `user ${e.userId}` : '',
    e.detail ? JSON.stringify(e.detail) : '',
  ];
  return parts.filter(Boolean).join('  ');
}

function formatStatus(s: Record<string, unknown>): string {
  const get = (k: string) => s[k] as Record<string, unknown>;
  const db = get('database');
  const ev = get('events');
  const led = get('led');
  const door = get('door');
  const link = get('hostLink');
  const flash = get('flash');
  return [
    `reader      ${String(s.readerId)} (access point ${String(s.accessPointId)}, firmware ${String(s.firmware)})`,
    `clock       ${String(get('clock').time)}   booted ${String(s.bootedAt)}`,
    `database    version ${String(db.version)}: ${formatCounts(db.counts as Record<string, number>)}`,
    `state       ${formatAccessPoint(get('accessPoint'))}`,
    `led         ${String(led.color)}${led.buzzer ? ' + buzzer' : ''}${led.situation ? ` (${String(led.situation)})` : ''}`,
    `relay       ${String(s.relay)}   door ${String(door.position)}${door.tamper ? '   TAMPER' : ''}`,
    `events      newest ${String(ev.lastSeq)}, acknowledged ${String(ev.ackedSeq)}, held ${String(ev.count)}/${String(ev.capacity)}, dropped ${String(ev.dropped)}`,
    `host link   ${String(link.state)}`,
    `flash       ${
      flash
        ? Object.entries(flash)
            .map(([k, v]) => `${k} ${String(v)}`)
            .join(', ')
        : '-'
    }`,
  ].join('\n');
}
