import { parsePresentation } from '../../firmware/foundation/presentation';
import { OsdpPanelLink } from '../../firmware/osdp';
import { powerOnBoard } from '../../firmware/profiles/drivers';
import { testDrivers } from '../../firmware/profiles/test';
import { cardFromReply, ControlPanel, memoryChannelPair, REPLY } from '../../osdp';

/**
 * What the decision loop keeps in the osdp-pd role: the reader's own checks (rule 2) and
 * enroll mode; everything else goes to the panel and leaves no event, relay or LED of its own.
 */
describe('the decision loop hands presentations to the panel', () => {
  async function setUp() {
    const drivers = testDrivers({ flash: { sectorCount: 64 } });
    const board = await powerOnBoard(drivers);
    const running = board.reader()!;
    running.config.update({ role: 'osdp-pd' });
    const [pdEnd, cpEnd] = memoryChannelPair();
    const detach = new OsdpPanelLink({
      transport: { channel: pdEnd, description: 'memory' },
      address: 0,
    }).attach(running);
    const cp = new ControlPanel({ channel: cpEnd, clock: drivers.clock, address: 0 });
    const mobile = (proof: { signatureValid: boolean; challengeFresh: boolean }, extra = {}) =>
      parsePresentation({
        kind: 'mobile',
        value: 'phone-7',
        source: 'ble',
        accessPointId: 'door-1',
        at: drivers.clock.now(),
        proof,
        rssi: -40,
        ...extra,
      });
    return { drivers, board, running, detach, cp, mobile };
  }

  it('a badge goes to the panel: no event, no relay, no LED; a bad phone proof is denied here', async () => {
    const { board, running, detach, cp, mobile, drivers } = await setUp();
    const seq = running.store.events.stats().lastSeq;
    const ledBefore = drivers.led.timeline().length;
    const badge = await running.reader.present(
      parsePresentation({
        kind: 'badge',
        value: '1001',
        source: 'badge-serial',
        accessPointId: 'door-1',
        at: drivers.clock.now(),
      }),
    );
    expect(badge.decision).toEqual({ outcome: 'panel' });
    expect(running.store.events.stats().lastSeq).toBe(seq);
    expect(drivers.led.timeline()).toHaveLength(ledBefore);
    expect(running.status().relay).toBe('locked');
    expect(cardFromReply(await cp.poll())?.data).toEqual(Buffer.from('000003e9', 'hex'));

    const forged = await running.reader.present(
      mobile({ signatureValid: false, challengeFresh: true }),
    );
    expect(forged.decision).toMatchObject({ outcome: 'deny', reason: 'bad_signature' });
    expect(forged.event).toMatchObject({ decision: 'deny', reason: 'bad_signature' });
    expect((await cp.poll()).code).not.toBe(REPLY.RAW);
    detach();
    await board.shutdown();
  });

  it('enroll mode still captures a phone as Raw Data for the host', async () => {
    const { board, running, detach, mobile } = await setUp();
    running.reader.enroll('alice');
    const captured = await running.reader.present(
      mobile({ signatureValid: false, challengeFresh: false }, { publicKey: 'AAAA' }),
    );
    expect(captured.decision).toEqual({ outcome: 'capture' });
    expect(captured.event).toMatchObject({ type: 'enroll', userId: 'alice' });
    detach();
    await board.shutdown();
  });
});
