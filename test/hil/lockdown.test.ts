import { BADGE, hilScenarios, nextEvent, prepare } from './scenario';

hilScenarios('lockdown', (scenario) => {
  scenario(
    'lockdown: fast red blink, a valid badge is denied, REX still lets people out',
    async (rig) => {
      const seq = await prepare(rig);
      await rig.api.setAccessPointState('lockdown');
      expect(await rig.ledDuring(600)).toEqual(new Set(['red', 'off']));
      await rig.presentBadge(BADGE);
      const event = await nextEvent(rig, seq, (e) => e.type === 'access');
      expect(event).toMatchObject({ decision: 'deny', reason: 'lockdown' });
      expect(await rig.relayEnergized()).toBe(false);
      // Free egress (rexInLockdown, the default).
      await rig.pressRex();
      expect(await rig.relayEnergized()).toBe(true);
    },
  );
});
