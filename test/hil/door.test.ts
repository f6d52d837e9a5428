import { BADGE, eventsAfter, FAST_DOOR, hilScenarios, nextEvent, prepare } from './scenario';

hilScenarios('door', (scenario) => {
  scenario('REX: unlocks without an access event, relocks', async (rig) => {
    const seq = await prepare(rig);
    await rig.pressRex();
    expect(await rig.relayEnergized()).toBe(true);
    const event = await nextEvent(rig, seq, (e) => e.type === 'door');
    expect(event.detail).toEqual({ rex: true });
    expect((await eventsAfter(rig, seq)).filter((e) => e.type === 'access')).toEqual([]);
    await rig.wait(FAST_DOOR.unlockMs);
    expect(await rig.relayEnergized()).toBe(false);
  });

  scenario('door forced: opened while locked raises the alarm until it closes', async (rig) => {
    const seq = await prepare(rig);
    await rig.setDoor(true);
    const alarm = await nextEvent(
      rig,
      seq,
      (e) => e.type === 'door' && e.detail?.alarm === 'forced',
    );
    expect(alarm.detail).toEqual({ alarm: 'forced', active: true });
    expect(await rig.ledDuring(600)).toEqual(new Set(['red', 'amber']));
    expect(await rig.buzzer()).toBe(true);
    await rig.setDoor(false);
    const cleared = await nextEvent(rig, alarm.seq, (e) => e.type === 'door');
    expect(cleared.detail).toEqual({ alarm: 'forced', active: false });
    expect(await rig.buzzer()).toBe(false);
    expect(await rig.led()).toBe('red');
  });

  scenario('door held: open past heldOpenMs after a grant raises the held alarm', async (rig) => {
    const seq = await prepare(rig);
    await rig.presentBadge(BADGE);
    await nextEvent(rig, seq, (e) => e.type === 'access' && e.decision === 'grant');
    await rig.setDoor(true);
    await rig.wait(FAST_DOOR.heldOpenMs + 300);
    const held = await nextEvent(rig, seq, (e) => e.type === 'door' && e.detail?.alarm === 'held');
    expect(held.detail).toEqual({ alarm: 'held', active: true });
    expect(await rig.ledDuring(600)).toEqual(new Set(['red', 'amber']));
    expect(await rig.buzzer()).toBe(true);
    // Relock on close: the relay is locked again once the door shuts, alarm cleared.
    await rig.setDoor(false);
    await nextEvent(rig, held.seq, (e) => e.type === 'door' && e.detail?.active === false);
    expect(await rig.buzzer()).toBe(false);
    expect(await rig.relayEnergized()).toBe(false);
  });
});
