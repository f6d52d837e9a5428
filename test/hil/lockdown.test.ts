import { hilScenarios, BADGE, prepare } from './scenario';

hilScenarios('lockdown', (scenario) => {
  scenario(
    'lockdown: fast red blink, a valid badge is denied, REX still lets people out',
    async (rig) => {
      await prepare(rig);
      await rig.api.setAccessPointState('lockdown');
      await expect(rig).toBlinkLed(['red', 'off'], 600);
      await rig.presentBadge(BADGE);
      await expect(rig).toHaveDecided('lockdown', { credentialId: 'c0' });
      await expect(rig).not.toHaveRelayEnergized();
      // Free egress (rexInLockdown, the default).
      await rig.pressRex();
      await expect(rig).toHaveRelayEnergized();
    },
  );
});
