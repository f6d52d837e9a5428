import { BADGE, FAST_DOOR, hilScenarios, nextEvent, prepare } from './scenario';

hilScenarios('access', (scenario) => {
  scenario('grant: known badge unlocks, LED green, relocks after the unlock time', async (rig) => {
    const seq = await prepare(rig);
    expect(await rig.led()).toBe('red');
    expect(await rig.relayEnergized()).toBe(false);
    await rig.presentBadge(BADGE);
    const event = await nextEvent(rig, seq, (e) => e.type === 'access');
    expect(event).toMatchObject({ decision: 'grant', reason: 'granted', credentialId: 'c0' });
    // Fail-secure (the default): energized = unlocked.
    expect(await rig.relayEnergized()).toBe(true);
    expect(await rig.led()).toBe('green');
    await rig.wait(FAST_DOOR.unlockMs + 300);
    expect(await rig.relayEnergized()).toBe(false);
    expect(await rig.led()).toBe('red');
  });

  scenario('deny: unknown badge, red flashing, relay never moves', async (rig) => {
    const seq = await prepare(rig);
    await rig.presentBadge('99999');
    const event = await nextEvent(rig, seq, (e) => e.type === 'access');
    expect(event).toMatchObject({ decision: 'deny', reason: 'unknown_credential' });
    const seen = await rig.ledDuring(1000);
    expect(seen).toEqual(new Set(['red', 'off']));
    expect(await rig.relayEnergized()).toBe(false);
  });
});
