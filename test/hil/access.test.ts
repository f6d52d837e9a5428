import { FAST_DOOR, waitForEvent } from '../../firmware/testkit';
import { BADGE, hilScenarios, prepare } from './scenario';

hilScenarios('access', (scenario) => {
  scenario('grant: known badge unlocks, LED green, relocks after the unlock time', async (rig) => {
    const seq = await prepare(rig);
    await expect(rig).toShowLed('red');
    await expect(rig).not.toHaveRelayEnergized();
    await rig.presentBadge(BADGE);
    await expect(rig).toHaveDecided('granted', { credentialId: 'c0' });
    const event = await waitForEvent(rig, (e) => e.type === 'access', { after: seq });
    expect(event).toMatchObject({ decision: 'grant', reason: 'granted', credentialId: 'c0' });
    // Fail-secure (the default): energized = unlocked.
    await expect(rig).toHaveRelayEnergized();
    await expect(rig).toShowLed('green');
    await rig.wait(FAST_DOOR.unlockMs + 300);
    await expect(rig).not.toHaveRelayEnergized();
    await expect(rig).toShowLed('red');
  });

  scenario('deny: unknown badge, red flashing, relay never moves', async (rig) => {
    await prepare(rig);
    await rig.presentBadge('99999');
    await expect(rig).toHaveDecided('unknown_credential');
    await expect(rig).toBlinkLed(['red', 'off'], 1000);
    await expect(rig).not.toHaveRelayEnergized();
  });
});
