/**
 * reader-sim/testkit: hardware-in-the-loop tests of the reader, on the sim rig (the real
 * firmware and host API in-process, on a virtual clock and a virtual BLE air) or on a Pi with
 * loopback wires (RIG=pi). See docs/TESTKIT.md. Loads no test runner; the jest matchers are
 * in reader-sim/testkit/jest.
 */
export {
  eventsAfter,
  ledColour,
  markEvents,
  nextDecision,
  openRig,
  rigName,
  waitForEvent,
  type LedColour,
  type Rig,
  type RigName,
} from './rig';
export { SimRig } from './sim-rig';
export type { PiRig } from './pi-rig';
export {
  assertBuzzer,
  assertDecided,
  assertLed,
  assertLedDuring,
  assertRelay,
  checkBuzzer,
  checkDecided,
  checkLed,
  checkLedDuring,
  checkRelayEnergized,
  type RigCheck,
} from './assertions';
export {
  registerRigMatchers,
  rigMatchers,
  type ExtendableExpect,
  type RigMatchers,
} from './matchers';
export {
  badgeCredential,
  createPhone,
  FAST_DOOR,
  mobileCredential,
  oneDoorDatabase,
  TEST_DOOR,
  TEST_USER,
} from './fixtures';
export { saveTimeline, timelineMark } from './timeline';
export type { DeviceKey } from '../../ble/device-key';
export type { ResultMessage } from '../../ble/protocol';
export type { Credential, DatabaseContent, EventRecord, Schedule } from '../foundation/model';
