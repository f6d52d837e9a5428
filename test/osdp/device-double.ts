import {
  CAPABILITY,
  type BuzzerRecord,
  type Capability,
  type LedRecord,
  type OutputRecord,
  type PdDevice,
} from '../../osdp';

/** A PD device that records what the panel asked of it: a peer for the protocol tests. */
export class RecordingDevice implements PdDevice {
  id = {
    vendor: Buffer.from([0x0a, 0x1b, 0x2c]),
    model: 7,
    version: 2,
    serial: 0x12345678,
    firmware: [1, 4, 9] as [number, number, number],
  };
  capabilities: Capability[] = [
    { function: CAPABILITY.CONTACT_STATUS, compliance: 1, count: 2 },
    { function: CAPABILITY.OUTPUT_CONTROL, compliance: 1, count: 2 },
    { function: CAPABILITY.READER_LED, compliance: 2, count: 1 },
    { function: CAPABILITY.READER_AUDIBLE, compliance: 1, count: 1 },
    { function: CAPABILITY.CHECK_CHARACTER, compliance: 1, count: 0 },
    { function: CAPABILITY.COMMUNICATION_SECURITY, compliance: 1, count: 1 },
  ];
  tamper = false;
  power = false;
  inputState = [false, false];
  outputState = [false, false];
  leds: LedRecord[] = [];
  buzzers: BuzzerRecord[] = [];
  outs: OutputRecord[] = [];
  keys: Buffer[] = [];
  offlineCalls = 0;

  localStatus() {
    return { tamper: this.tamper, power: this.power };
  }
  inputs() {
    return [...this.inputState];
  }
  outputs() {
    return [...this.outputState];
  }
  led(records: LedRecord[]) {
    if (records.some((r) => r.reader !== 0 || r.led !== 0)) return false;
    this.leds.push(...records);
    return true;
  }
  buzzer(record: BuzzerRecord) {
    if (record.reader !== 0) return false;
    this.buzzers.push(record);
    return true;
  }
  output(records: OutputRecord[]) {
    if (records.some((r) => r.output >= this.outputState.length)) return false;
    for (const r of records) {
      this.outs.push(r);
      if (r.control === 2 || r.control === 4 || r.control === 5) this.outputState[r.output] = true;
      if (r.control === 1 || r.control === 3 || r.control === 6) this.outputState[r.output] = false;
    }
    return true;
  }
  keyset(scbk: Buffer) {
    this.keys.push(Buffer.from(scbk));
  }
  offline() {
    this.offlineCalls++;
  }
}
