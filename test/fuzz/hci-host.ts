import { settle } from '../../firmware/foundation/clock';
import { createHciSocket, VirtualController, VirtualHciSocket } from '../../ble/controller';
import { Evt, H4, LeSubevent, Op } from '../../ble/controller/hci-spec';
import { answersOpcode, createConnParams } from '../ble/raw-host';

/**
 * A hostile HCI host: it holds the same socket object bleno and noble hold
 * (createHciSocket, raw bind), writes whatever H4 bytes it likes and records every packet the
 * controller sends back.
 */
export class SocketHost {
  readonly received: Buffer[] = [];
  readonly socket: VirtualHciSocket;

  constructor(readonly controller: VirtualController) {
    this.socket = createHciSocket(controller);
    this.socket.bindRaw(0);
    this.socket.start();
    this.socket.on('data', (p: Buffer) => this.received.push(p));
  }

  write(packet: Buffer): void {
    this.socket.write(packet);
  }

  /** Sends a command; the status of its Command Complete / Command Status event. */
  async command(op: number, params: Buffer = Buffer.alloc(0)): Promise<number> {
    return (await this.answer(op, params)).status;
  }

  /** Sends a command (the length byte may lie); which event answered it, with its status. */
  async answer(
    op: number,
    params: Buffer,
    length = params.length,
  ): Promise<{ kind: 'complete' | 'status'; status: number; answers: number }> {
    const from = this.received.length;
    this.write(Buffer.concat([Buffer.from([H4.command, op & 0xff, op >> 8, length]), params]));
    await settle();
    const answers = this.received.slice(from).filter((p) => answersOpcode(p) === op);
    const answer = answers[0];
    if (!answer) throw new Error(`no answer to opcode 0x${op.toString(16)}`);
    return answer[1] === Evt.commandComplete
      ? { kind: 'complete', status: answer[6]!, answers: answers.length }
      : { kind: 'status', status: answer[3]!, answers: answers.length };
  }

  /** One ACL packet: handle, boundary flag, the bytes (the length field may lie). */
  acl(handle: number, boundary: number, data: Buffer, length = data.length): void {
    const header = Buffer.alloc(5);
    header[0] = H4.acl;
    header.writeUInt16LE((handle & 0x0fff) | ((boundary & 3) << 12), 1);
    header.writeUInt16LE(length & 0xffff, 3);
    this.write(Buffer.concat([header, data]));
  }

  /** Connects as a central to `address`; resolves with the connection handle. */
  async connect(address: string): Promise<number> {
    await this.command(Op.setEventMask, Buffer.alloc(8, 0xff));
    await this.command(Op.leSetEventMask, Buffer.alloc(8, 0xff));
    const from = this.received.length;
    const status = await this.command(Op.leCreateConn, createConnParams(address, 3200));
    if (status !== 0) throw new Error(`LE Create Connection: status 0x${status.toString(16)}`);
    for (let i = 0; i < 100; i++) {
      const done = this.received
        .slice(from)
        .find(
          (p) => p[0] === H4.event && p[1] === Evt.leMeta && p[3] === LeSubevent.connectionComplete,
        );
      if (done) {
        if (done[4] !== 0) throw new Error(`connection failed: 0x${done[4]!.toString(16)}`);
        return done.readUInt16LE(5);
      }
      await settle();
    }
    throw new Error(`no connection to ${address}`);
  }

  /** Whether the link with `handle` went down (Disconnection Complete). */
  disconnected(handle: number): boolean {
    return this.received.some(
      (p) =>
        p[0] === H4.event && p[1] === Evt.disconnectionComplete && p.readUInt16LE(4) === handle,
    );
  }
}
