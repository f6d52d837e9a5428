import { ConfigError, ReaderConfig } from '../../firmware/config';
import { domainProblem } from '../../firmware/api/errors';
import { READER_ERROR_CODES, ReaderError } from '../../firmware/foundation/errors';
import {
  CorruptImageError,
  MemoryFlash,
  PowerLossError,
  StoreError,
  StoreFullError,
  VersionConflictError,
  openStore,
} from '../../storage';

describe('domain errors answer over HTTP by type', () => {
  test('each domain error the API knows gets its status, code and body', () => {
    expect(domainProblem(new ConfigError('unlockMs', 'must be 1000..60000 ms'))?.body()).toEqual({
      error: 'bad_request',
      message: 'config unlockMs: must be 1000..60000 ms',
      field: '/unlockMs',
      part: 'body',
    });
    const conflict = domainProblem(new VersionConflictError(3, 5))!;
    expect([conflict.status, conflict.body()]).toEqual([
      409,
      {
        error: 'version_conflict',
        message: 'delta base version 3 does not match the live database version 5',
        field: '/baseVersion',
        currentVersion: 5,
      },
    ]);
    const full = domainProblem(new StoreFullError('no free sector'))!;
    expect([full.status, full.body()]).toEqual([
      507,
      { error: 'store_full', message: 'the flash has no room for this: no free sector' },
    ]);
    const cut = domainProblem(new PowerLossError('power cut during program #4 (prefix)'))!;
    expect([cut.status, cut.code]).toEqual([503, 'power_lost']);
  });

  test('a look-alike name is not enough, and unlisted store errors stay 500 (undefined here)', () => {
    const impostor = Object.assign(new Error('x'), { name: 'StoreFullError' });
    expect(domainProblem(impostor)).toBeUndefined();
    expect(domainProblem(new CorruptImageError('bad header'))).toBeUndefined();
    expect(domainProblem(new StoreError('closed'))).toBeUndefined();
    expect(domainProblem('StoreFullError')).toBeUndefined();
  });

  test('errors thrown by the real store and config carry their stable code', () => {
    const store = openStore({ device: new MemoryFlash() });
    let thrown: unknown;
    try {
      store.database.patch({ baseVersion: store.database.version() + 7 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ReaderError);
    expect(thrown).toMatchObject({ code: 'version_conflict', name: 'VersionConflictError' });
    store.close();

    const { config } = ReaderConfig.load({ get: () => undefined, set: () => undefined });
    let refused: unknown;
    try {
      config.update({ unlockMs: 0 });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect(refused).toMatchObject({ code: 'invalid_config', field: 'unlockMs' });
    for (const err of [thrown, refused]) {
      expect(READER_ERROR_CODES).toContain((err as ReaderError).code);
    }
  });
});
