import { settle } from '../../firmware/foundation/clock';
import { VirtualController } from '../../ble/controller';
import { Evt, H4 } from '../../ble/controller/hci-spec';

/** A minimal HCI host for tests: writes H4 packets, records what the controller answers. */
export class RawHost {
  readonly received: Buffer[] = [];

  constructor(readonly controller: VirtualController) {
    controller.on('packet', (p: Buffer) => this.received.push(p));
  }

  /** Sends a command and returns the parameters of its Command Complete / Status event. */
  async command(
    op: number,
    params: Buffer = Buffer.alloc(0),
  ): Promise<{ kind: 'complete' | 'status'; status: number; result: Buffer }> {
    const from = this.received.length;
    const header = Buffer.from([H4.command, op & 0xff, op >> 8, params.length]);
    this.controller.receive(Buffer.concat([header, params]));
    await settle();
    const answer = this.received.slice(from).find((p) => answersOpcode(p) === op);
    if (!answer) throw new Error(`no answer to opcode 0x${op.toString(16)}`);
    return answer[1] === Evt.commandComplete
      ? { kind: 'complete', status: answer[6]!, result: answer.subarray(7) }
      : { kind: 'status', status: answer[3]!, result: Buffer.alloc(0) };
  }

  acl(handle: number, data: Buffer, boundary = 0): void {
    const header = Buffer.alloc(5);
    header[0] = H4.acl;
    header.writeUInt16LE(handle | (boundary << 12), 1);
    header.writeUInt16LE(data.length, 3);
    this.controller.receive(Buffer.concat([header, data]));
  }

  events(code: number): Buffer[] {
    return this.received.filter((p) => p[0] === H4.event && p[1] === code);
  }

  leEvents(subevent: number): Buffer[] {
    return this.events(Evt.leMeta).filter((p) => p[3] === subevent);
  }
}

/** The opcode a Command Complete / Command Status event answers, or undefined. */
export function answersOpcode(p: Buffer): number | undefined {
  if (p[0] !== H4.event) return undefined;
  if (p[1] === Evt.commandComplete && p.length >= 6) return p.readUInt16LE(4);
  if (p[1] === Evt.commandStatus && p.length >= 7) return p.readUInt16LE(5);
  return undefined;
}

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}

/** LE Set Advertising Parameters: ADV_IND at `intervalUnits` x 0.625 ms on all channels. */
export function advParams(intervalUnits = 0xa0, type = 0): Buffer {
  return Buffer.concat([
    u16(intervalUnits),
    u16(intervalUnits),
    Buffer.from([type, 0, 0]),
    Buffer.alloc(6),
    Buffer.from([7, 0]),
  ]);
}

/** LE Create Connection to `address` with interval 7.5 ms, latency 0, timeout `timeoutUnits` x 10 ms. */
export function createConnParams(address: string, timeoutUnits = 42): Buffer {
  const peer = Buffer.from(address.split(':').reverse().join(''), 'hex');
  return Buffer.concat([
    u16(0x60),
    u16(0x30),
    Buffer.from([0, 0]),
    peer,
    Buffer.from([0]),
    u16(6),
    u16(6),
    u16(0),
    u16(timeoutUnits),
    u16(0),
    u16(0),
  ]);
}
