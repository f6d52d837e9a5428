import { performance } from 'node:perf_hooks';
import { encodeCbor } from '../../../ble/cbor';
import { Air, createAir } from '../../../ble/controller';
import { signSign1 } from '../../../ble/cose';
import { parseCredentialWrite, proofOf } from '../../../ble/credential-check';
import { createDeviceKey, DeviceKey, rawDataOf } from '../../../ble/device-key';
import { startPhoneRadio } from '../../../ble/phone-radio';
import {
  credentialNumber,
  decodeCredentialMessage,
  uncompressedOf,
  verifyTransaction,
} from '../../../ble/pkoc/messages';
import { pkocCredential, pkocPresent } from '../../../ble/pkoc/phone';
import { startReaderRadio } from '../../../ble/reader-radio';
import { boot } from '../../../firmware/boot';
import { SystemClock } from '../../../firmware/foundation/clock';
import type { IndicatorOutput } from '../../../led';
import { atMost, below, BenchRow, BenchSuite, percentile, rowsFor } from './suite';
import { onePhoneDatabase, testDrivers } from '../../../firmware/profiles/test';

const CONNECTION_INTERVAL_MS = 30;

interface UnlockSample {
  /** From the phone starting to scan to the reader's LED turning green. */
  toGreenMs: number;
  /** To the phone showing `granted` (the result notification arrived). */
  toGrantedMs: number;
  /** The radio model's busy time over the same span (realistic timing only). */
  radioMs: number;
}

/**
 * Whole unlocks, as a user sees them: the real firmware (system clock, in-memory flash), its
 * GATT service on bleno and a phone on noble, both on virtual controllers on one air.
 */
async function unlocks(
  timing: 'fast' | 'realistic',
  runs: number,
  intervalMs?: number,
  profile: 'reader-sim' | 'pkoc' = 'reader-sim',
): Promise<UnlockSample[]> {
  const clock = new SystemClock();
  const air: Air = createAir({ timing, clock });
  let green: (() => void) | undefined;
  let lastColor = '';
  // The moment the LED turns green (not a later change within green, e.g. the beep ending).
  const led = {
    show: (output: IndicatorOutput) => {
      if (output.color === 'green' && lastColor !== 'green') green?.();
      lastColor = output.color;
    },
  };
  const reader = boot(testDrivers({ clock, flash: { sectorCount: 64 }, indicatorDrivers: [led] }));
  const key: DeviceKey = createDeviceKey('bench-phone');
  const database = onePhoneDatabase(key);
  // The same phone as a PKOC credential: its number is the value, its key the same SPKI.
  database.credentials.push({
    ...database.credentials[0]!,
    id: 'pkoc',
    value: credentialNumber(uncompressedOf(key.publicKey), 64),
  });
  reader.store.database.replace(database);
  reader.config.update({ blePhoneCooldownMs: 0 });
  const radio = await startReaderRadio({ air });
  radio.gatt.attach(reader);
  const phoneRadio = startPhoneRadio({
    air,
    key,
    distance: 1.5,
    clock,
    connectionIntervalMs: intervalMs,
  });
  const samples: UnlockSample[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      air.ledger.start();
      const startClock = air.clock.now();
      const start = performance.now();
      let greenAt: number | undefined;
      green = () => {
        greenAt ??= performance.now();
      };
      const result =
        profile === 'pkoc'
          ? await pkocPresent(phoneRadio.phone, key, { timeoutMs: 10_000 })
          : await phoneRadio.phone.unlock({ timeoutMs: 10_000 });
      const end = performance.now();
      green = undefined;
      if (greenAt === undefined) throw new Error(`bench unlock ${i}: the LED never turned green`);
      if (result.status !== 'granted')
        throw new Error(`bench unlock ${i}: ${JSON.stringify(result)}`);
      const radioMs = timing === 'fast' ? 0 : air.ledger.busyMs(startClock, air.clock.now());
      air.ledger.stop();
      samples.push({ toGreenMs: (greenAt ?? NaN) - start, toGrantedMs: end - start, radioMs });
    }
  } finally {
    phoneRadio.close();
    radio.close();
    await reader.shutdown();
  }
  return samples;
}

/** Verification cost of one presentation at the reader: COSE/CBOR parse + ECDSA P-256 verify. */
function verificationCost(iterations: number): { verifyUs: number; signUs: number } {
  const key = createDeviceKey('bench-phone');
  const { publicKey } = rawDataOf(key);
  const nonce = Buffer.alloc(16, 1);
  const now = Date.UTC(2026, 0, 1);
  const payload = encodeCbor(
    new Map<string, unknown>([
      ['deviceId', key.deviceId],
      ['readerId', 'reader-1'],
      ['nonce', nonce],
      ['ts', now],
    ]),
  );
  // The phone side, for comparison: what it costs to produce one.
  let presentation: Buffer = Buffer.alloc(0);
  const signStart = performance.now();
  for (let i = 0; i < iterations; i++) presentation = signSign1(payload, key.privateKey);
  const signUs = ((performance.now() - signStart) * 1000) / iterations;
  let valid = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const parsed = parseCredentialWrite(presentation)!;
    const proof = proofOf(parsed, {
      enrolledKey: publicKey,
      nonceFresh: true,
      readerId: 'reader-1',
      now,
      skewMs: 60_000,
    });
    if (proof.signatureValid) valid++;
  }
  const verifyUs = ((performance.now() - start) * 1000) / iterations;
  if (valid !== iterations) throw new Error('bench presentation did not verify');
  return { verifyUs, signUs };
}

/**
 * Verification cost of one PKOC presentation at the reader: TLV parse, the key from its 65
 * bytes, the ECDSA verify over the transaction identifier, the credential number.
 */
function pkocVerificationCost(iterations: number): number {
  const key = createDeviceKey('bench-phone');
  const hello = { transactionId: Buffer.alloc(33, 2) } as Parameters<typeof pkocCredential>[0];
  hello.transactionId[0] = 0x02;
  const message = pkocCredential(hello, key.privateKey, key.publicKey);
  let valid = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const parsed = decodeCredentialMessage(message)!;
    if (verifyTransaction(hello.transactionId, parsed.message.signature, parsed.key)) valid++;
    credentialNumber(parsed.message.publicKey, 64);
  }
  const us = ((performance.now() - start) * 1000) / iterations;
  if (valid !== iterations) throw new Error('bench PKOC message did not verify');
  return us;
}

export const mobile: BenchSuite = {
  name: 'mobile',
  summary: 'phone-to-green latency over BLE (fast, realistic 30 ms interval), signature cost',
  async run({ quick, progress }) {
    const fastRuns = quick ? 10 : 100;
    const realRuns = quick ? 3 : 20;
    progress(`mobile: ${fastRuns} unlocks, fast timing`);
    const fast = await unlocks('fast', fastRuns);
    progress(
      `mobile: ${realRuns} unlocks, realistic timing, ${CONNECTION_INTERVAL_MS} ms interval`,
    );
    const real = await unlocks('realistic', realRuns, CONNECTION_INTERVAL_MS);
    progress(`mobile: ${fastRuns} PKOC unlocks, fast timing`);
    const pkoc = await unlocks('fast', fastRuns, undefined, 'pkoc');
    progress('mobile: signature verification');
    const cost = verificationCost(quick ? 200 : 2000);
    const pkocUs = pkocVerificationCost(quick ? 200 : 2000);
    const pkocGreen = pkoc.map((s) => s.toGreenMs);

    const stacks = '@stoprocent/bleno reader, @stoprocent/noble phone, one process';
    const realGreen = real.map((s) => s.toGreenMs);
    const floor = real.map((s) => s.radioMs);
    const overhead = real.map((s) => (100 * (s.toGrantedMs - s.radioMs)) / s.radioMs);
    const p50Fast = percentile(
      fast.map((s) => s.toGreenMs),
      50,
    );
    const rows: BenchRow[] = [
      row('fast: phone-to-green p50', p50Fast, 'ms', {
        bounds: [below(25)],
        note: `n=${fastRuns}; scan, connect, discover, challenge, COSE_Sign1, decision; ${stacks}`,
      }),
      row(
        'fast: phone-to-green p99',
        percentile(
          fast.map((s) => s.toGreenMs),
          99,
        ),
        'ms',
      ),
      row(
        'fast: phone-to-granted (result at phone) p50',
        percentile(
          fast.map((s) => s.toGrantedMs),
          50,
        ),
        'ms',
      ),
      row(
        `realistic ${CONNECTION_INTERVAL_MS} ms: phone-to-green p50`,
        percentile(realGreen, 50),
        'ms',
        {
          note: `n=${realRuns}; advertising, ${CONNECTION_INTERVAL_MS} ms connection interval, LE 1M airtime`,
        },
      ),
      row(
        `realistic ${CONNECTION_INTERVAL_MS} ms: phone-to-green p99`,
        percentile(realGreen, 99),
        'ms',
      ),
      row(
        `realistic ${CONNECTION_INTERVAL_MS} ms: phone-to-granted p50`,
        percentile(
          real.map((s) => s.toGrantedMs),
          50,
        ),
        'ms',
      ),
      row(
        `realistic ${CONNECTION_INTERVAL_MS} ms: radio-model floor p50`,
        percentile(floor, 50),
        'ms',
        {
          note: 'air time the radio model accounts for over the same span (advertising wait, anchors, airtime)',
        },
      ),
      row(
        `realistic ${CONNECTION_INTERVAL_MS} ms: overhead above the floor p50`,
        percentile(overhead, 50),
        '%',
        {
          bounds: [atMost(10)],
          note: 'host stacks + reader work beyond the radio (BLE layer: <= 10 %)',
        },
      ),
      row('signature verification per presentation', cost.verifyUs, 'µs', {
        bounds: [below(1000)],
        note: 'COSE_Sign1 parse + ES256 verify (node:crypto), reader side; a small share of the 25 ms budget',
      }),
      row('signing per presentation (phone)', cost.signUs, 'µs'),
      row('pkoc fast: phone-to-green p50', percentile(pkocGreen, 50), 'ms', {
        bounds: [below(25)],
        note: `n=${fastRuns}; scan 0xFFF0, connect, discover, subscribe (hello), TLV credential, decision; ${stacks}`,
      }),
      row('pkoc fast: phone-to-green p99', percentile(pkocGreen, 99), 'ms'),
      row('pkoc verification per presentation', pkocUs, 'µs', {
        bounds: [below(1000)],
        note: 'TLV parse, key from 65 bytes, ECDSA P-256 verify over the transaction id, credential number',
      }),
    ];
    return rows;
  },
};

const row = rowsFor('mobile');
