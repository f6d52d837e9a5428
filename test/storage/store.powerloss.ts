import { MemoryFlash, PowerLossError } from '../../storage/flash-device';
import { TORN_WRITE_MODELS, TornWriteModel, modelApplies } from '../../storage/power-cut';
import { RecordType, parseRecordHeader } from '../../storage/record';
import { mountForInspection } from '../../storage/reader-store';
import {
  SMALL_GEOMETRY,
  Step,
  mount,
  observe,
  representativeWorkload,
  smallDevice,
} from './workload';

/*
 * Power cut at every program and erase of the representative workload, under every
 * torn-write model. After the cut: remount; every acknowledged step reads back, the step
 * in flight is old or new as a whole, a second mount changes nothing, no 0->1 program.
 * POWERLOSS=exhaustive cuts at every operation; the default (CI) cuts at a fixed stride.
 */
const exhaustive = process.env.POWERLOSS === 'exhaustive';
/** Exhaustive mode also tries several random tears (seeds) per cut point. */
const SEEDS = exhaustive ? [0, 1, 2, 3, 4, 5, 6, 7] : [0];

interface Reference {
  /** observe() after each step; states[0] is the empty store. */
  states: string[];
  /** Device operation index at the end of each step. */
  opsAfter: number[];
  kinds: Array<'program' | 'erase'>;
  /** Per operation: whether it programs a piece or the end of an index snapshot. */
  inCheckpoint: boolean[];
}

function referenceRun(steps: Step[]): Reference {
  const device = smallDevice();
  const kinds: Array<'program' | 'erase'> = [];
  const inCheckpoint: boolean[] = [];
  device.onOperation = (op) => kinds.push(op.kind);
  // Classify programs by the record they start (later pages of a record keep its type).
  let current = -1;
  const program = device.program.bind(device);
  device.program = (address, data) => {
    const header = data.length >= 16 ? parseRecordHeader(Buffer.from(data), 0) : undefined;
    if (header) current = header.type;
    else if (address % SMALL_GEOMETRY.sectorSize === 0) current = -1; // a sector header
    inCheckpoint.push(current === RecordType.Checkpoint || current === RecordType.CheckpointEnd);
    program(address, data);
  };
  const erase = device.erase.bind(device);
  device.erase = (sector) => {
    inCheckpoint.push(false);
    erase(sector);
  };
  const store = mount(device);
  const states = [observe(store)];
  const opsAfter: number[] = [];
  for (const step of steps) {
    step.run(store);
    states.push(observe(store));
    opsAfter.push(device.stats.operations);
  }
  return { states, opsAfter, kinds, inCheckpoint };
}

interface Outcome {
  violation?: string;
}

function cutRun(
  steps: Step[],
  ref: Reference,
  at: number,
  model: TornWriteModel,
  seed: number,
): Outcome {
  const device: MemoryFlash = smallDevice();
  device.armPowerCut({ at, model, seed: at * 7919 + seed });
  let store = mount(device);
  let inFlight = -1;
  try {
    for (let i = 0; i < steps.length; i++) {
      inFlight = i;
      steps[i]!.run(store);
    }
    return { violation: `cut at op ${at} never happened` };
  } catch (err) {
    if (!(err instanceof PowerLossError))
      return { violation: `step ${steps[inFlight]?.name}: ${String(err)}` };
  }
  if (device.stats.violations) return { violation: `${device.stats.violations} 0->1 programs` };
  device.powerOn();
  // Power fails again while mount repairs (finishing an erase, redoing a collection).
  const repairCut = cutDuringRecovery(device, model, ref, inFlight, steps);
  if (repairCut) return { violation: repairCut };
  try {
    store = mount(device);
  } catch (err) {
    return { violation: `remount after cut in '${steps[inFlight]!.name}' failed: ${String(err)}` };
  }
  const seen = observe(store);
  if (store.mountReport.fromCheckpoint) checkpointMounts++;
  // A snapshot is only a shortcut: it must give what a full replay of the log gives.
  const viaSnapshot = mountForInspection(device);
  if (
    viaSnapshot.report.fromCheckpoint &&
    viaSnapshot.index.describe() !==
      mountForInspection(device, { checkpoint: false }).index.describe()
  ) {
    return {
      violation: `after a cut in '${steps[inFlight]!.name}' the snapshot disagrees with a full replay`,
    };
  }
  const before = ref.states[inFlight]!;
  const after = ref.states[inFlight + 1]!;
  if (seen !== before && seen !== after) {
    return {
      violation: `cut in '${steps[inFlight]!.name}' left neither the old nor the new state:\n${seen}\nold: ${before}\nnew: ${after}`,
    };
  }
  const image = Buffer.from(device.image);
  const ops = device.stats.operations;
  const again = mount(device);
  if (device.stats.operations !== ops || !image.equals(device.image)) {
    return { violation: `second mount after cut in '${steps[inFlight]!.name}' changed the flash` };
  }
  if (observe(again) !== seen) return { violation: 'second mount reads a different state' };
  // The store keeps working: the next step (or a grant) runs and survives another mount.
  try {
    const next = steps[Math.min(inFlight + 1, steps.length - 1)]!;
    if (seen === after) next.run(again);
    else steps[inFlight]!.run(again);
    const state = observe(again);
    if (observe(mount(device)) !== state)
      return { violation: 'write after recovery did not persist' };
  } catch (err) {
    return {
      violation: `store unusable after recovery from cut in '${steps[inFlight]!.name}': ${String(err)}`,
    };
  }
  if (device.stats.violations)
    return { violation: `${device.stats.violations} 0->1 programs after recovery` };
  return {};
}

let recoveryCuts = 0;
let checkpointMounts = 0;

/** Cuts power at every operation the recovering mount does; then a mount must still recover. */
function cutDuringRecovery(
  torn: MemoryFlash,
  model: TornWriteModel,
  ref: Reference,
  inFlight: number,
  steps: Step[],
): string | undefined {
  const probe = torn.snapshot();
  mount(probe);
  const repairs = probe.stats.operations;
  for (let j = 0; j < repairs; j++) {
    const device = torn.snapshot();
    device.armPowerCut({ at: j, model, seed: j + 1 });
    try {
      mount(device);
      return `recovery mount never reached its operation ${j}`;
    } catch (err) {
      if (!(err instanceof PowerLossError)) return `recovery mount failed: ${String(err)}`;
    }
    device.powerOn();
    recoveryCuts++;
    let seen: string;
    try {
      seen = observe(mount(device));
    } catch (err) {
      return `mount after a cut during recovery from '${steps[inFlight]!.name}' failed: ${String(err)}`;
    }
    if (seen !== ref.states[inFlight] && seen !== ref.states[inFlight + 1]) {
      return `cut during recovery from '${steps[inFlight]!.name}' left neither the old nor the new state`;
    }
  }
  return undefined;
}

describe('power loss at every flash operation', () => {
  const steps = representativeWorkload();
  const ref = referenceRun(steps);
  const total = ref.kinds.length;
  let cuts = 0;
  let checkpointCuts = 0;
  const violations: string[] = [];

  afterAll(() => {
    for (const v of violations.slice(0, 12)) process.stdout.write(`${v.slice(0, 400)}\n`);
    process.stdout.write(
      `powerloss: ${cuts + recoveryCuts} cut points (${checkpointCuts} while writing an index snapshot), ` +
        `${TORN_WRITE_MODELS.length} models, ${violations.length} violations; ` +
        `${checkpointMounts} of ${cuts} recoveries mounted from a snapshot\n`,
    );
  });

  it('the reference run exercises pushes, grants, events and garbage collection', () => {
    expect(ref.kinds.filter((k) => k === 'erase').length).toBeGreaterThan(25);
    expect(total).toBeGreaterThan(300);
    expect(ref.inCheckpoint.length).toBe(total);
    expect(ref.inCheckpoint.filter(Boolean).length).toBeGreaterThan(20);
  });

  for (const model of TORN_WRITE_MODELS) {
    it(`every cut under '${model}' recovers to old-or-new`, () => {
      const seeds = model === 'none' ? [0] : SEEDS;
      for (let at = 0; at < total; at++) {
        if (!modelApplies(model, ref.kinds[at]!)) continue;
        for (const seed of seeds) {
          cuts++;
          if (ref.inCheckpoint[at]) checkpointCuts++;
          const outcome = cutRun(steps, ref, at, model, seed);
          if (outcome.violation)
            violations.push(`[${model} @${at} seed ${seed}] ${outcome.violation}`);
        }
      }
      expect(violations.slice(0, 3)).toEqual([]);
    });
  }

  it('recoveries mount from index snapshots (the cuts above covered their writes)', () => {
    expect(checkpointCuts).toBeGreaterThan(100);
    expect(checkpointMounts).toBeGreaterThan(100);
  });
});
