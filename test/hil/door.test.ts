import { eventsAfter, FAST_DOOR, waitForEvent } from '../../firmware/testkit';
import { BADGE, hilScenarios, prepare } from './scenario';

hilScenarios('door', (scenario) => {
  scenario('REX: unlocks without an access event, relocks', async (rig) => {
    const seq = await prepare(rig);
    await rig.pressRex();
    await expect(rig).toHaveRelayEnergized();
    const event = await waitForEvent(rig, (e) => e.type === 'door', { after: seq });
    expect(event.detail).toEqual({ rex: true });
    expect((await eventsAfter(rig, seq)).filter((e) => e.type === 'access')).toEqual([]);
    await rig.wait(FAST_DOOR.unlockMs);
    await expect(rig).not.toHaveRelayEnergized();
  });

  scenario('door forced: opened while locked raises the alarm until it closes', async (rig) => {
    const seq = await prepare(rig);
    await rig.setDoor(true);
    const alarm = await waitForEvent(
      rig,
      (e) => e.type === 'door' && e.detail?.alarm === 'forced',
      { after: seq },
    );
    expect(alarm.detail).toEqual({ alarm: 'forced', active: true });
    await expect(rig).toBlinkLed(['red', 'amber'], 600);
    await expect(rig).toSoundBuzzer();
    await rig.setDoor(false);
    const cleared = await waitForEvent(rig, (e) => e.type === 'door', { after: alarm.seq });
    expect(cleared.detail).toEqual({ alarm: 'forced', active: false });
    await expect(rig).not.toSoundBuzzer();
    await expect(rig).toShowLed('red');
  });

  scenario('door held: open past heldOpenMs after a grant raises the held alarm', async (rig) => {
    const seq = await prepare(rig);
    await rig.presentBadge(BADGE);
    await expect(rig).toHaveDecided('granted');
    await rig.setDoor(true);
    await rig.wait(FAST_DOOR.heldOpenMs + 300);
    const held = await waitForEvent(rig, (e) => e.type === 'door' && e.detail?.alarm === 'held', {
      after: seq,
    });
    expect(held.detail).toEqual({ alarm: 'held', active: true });
    await expect(rig).toBlinkLed(['red', 'amber'], 600);
    await expect(rig).toSoundBuzzer();
    // Relock on close: the relay is locked again once the door shuts, alarm cleared.
    await rig.setDoor(false);
    await waitForEvent(rig, (e) => e.type === 'door' && e.detail?.active === false, {
      after: held.seq,
    });
    await expect(rig).not.toSoundBuzzer();
    await expect(rig).not.toHaveRelayEnergized();
  });
});
