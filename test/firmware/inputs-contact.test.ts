import { VirtualClock } from '../../firmware/foundation/clock';
import { DoorController, type DoorAlarm } from '../../firmware/door';
import { ContactInput, connectContacts } from '../../firmware/inputs/contact';

describe('ContactInput', () => {
  test('a level must hold for the debounce time; bounces are ignored', () => {
    const clock = new VirtualClock(0);
    const contact = new ContactInput(clock, { debounceMs: 20 });
    const changes: Array<[boolean, number]> = [];
    contact.on('change', (active: boolean, at: number) => changes.push([active, at]));
    contact.level(true);
    clock.advance(5);
    contact.level(false); // bounce
    clock.advance(5);
    contact.level(true);
    clock.advance(19);
    expect(changes).toEqual([]);
    clock.advance(1);
    expect(changes).toEqual([[true, 30]]);
    expect(contact.active).toBe(true);
  });

  test('active-low wiring inverts the level (NC contact at rest reads high)', () => {
    const clock = new VirtualClock(0);
    const contact = new ContactInput(clock, { debounceMs: 0, activeLow: true });
    contact.level(true);
    expect(contact.active).toBe(false);
    contact.level(false);
    expect(contact.active).toBe(true);
  });

  test('a negative debounce is refused', () => {
    expect(() => new ContactInput(new VirtualClock(0), { debounceMs: -1 })).toThrow(RangeError);
  });
});

describe('connectContacts', () => {
  test('REX press, door contact, tamper and AUX drive the door controller', () => {
    const clock = new VirtualClock(0);
    const door = new DoorController(
      clock,
      { set: () => {} },
      {
        unlockMs: 5000,
        extendedUnlockMs: 15_000,
        relockOnClose: true,
        failSafe: false,
        heldOpenMs: 30_000,
      },
    );
    const contacts = {
      rex: new ContactInput(clock, { debounceMs: 0 }),
      door: new ContactInput(clock, { debounceMs: 0 }),
      tamper: new ContactInput(clock, { debounceMs: 0 }),
      aux: new ContactInput(clock, { debounceMs: 0 }),
    };
    const unwire = connectContacts(door, contacts);
    const alarms: string[] = [];
    door.on('alarm', (a: DoorAlarm) => alarms.push(`${a.kind}:${a.active}`));

    contacts.door.set(true); // forced
    contacts.door.set(false);
    contacts.rex.set(true);
    expect(door.status().relay).toBe('unlocked');
    contacts.rex.set(false); // release: no second REX
    contacts.door.set(true);
    contacts.door.set(false);
    expect(door.status().relay).toBe('locked');
    contacts.tamper.set(true);
    contacts.aux.set(true);
    expect(door.status()).toMatchObject({ tamper: true, aux: true, relay: 'unlocked' });
    expect(alarms).toEqual(['forced:true', 'forced:false', 'tamper:true']);

    unwire();
    contacts.aux.set(false);
    expect(door.status().aux).toBe(true);
  });
});
