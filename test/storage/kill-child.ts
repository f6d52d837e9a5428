// Child process for kill.test.ts: appends events and debits as fast as it can, printing
// each one only after the store returned (acknowledged), until it is killed with SIGKILL.
import { openStore } from '../../storage';

const store = openStore({ dir: process.argv[2]!, imageBytes: 1024 * 1024, eventCapacity: 100000 });
if (store.database.version() === 0) {
  store.database.replace({
    users: [{ id: 'u1', name: 'A', enabled: true }],
    credentials: [
      { id: 'c1', userId: 'u1', kind: 'badge', value: '1', enabled: true, accessPoints: ['*'] },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [],
  });
}
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const e = store.recordGrant(
    { ts: i, type: 'access', decision: 'grant', credentialId: 'c1' },
    'c1',
  );
  process.stdout.write(`ack ${e.seq} ${store.database.usesOf('c1')}\n`);
}
