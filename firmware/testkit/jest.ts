/**
 * `import 'reader-sim/testkit/jest'` (in a test file or a jest setupFilesAfterEnv file) adds
 * the rig matchers to jest's global `expect`. The rest of the testkit never loads jest: it is
 * the consumer's test runner, not a dependency of the reader.
 */
import { registerRigMatchers, type ExtendableExpect, type RigMatchers } from './matchers';

const { expect } = globalThis as { expect?: Partial<ExtendableExpect> };
if (typeof expect?.extend !== 'function') {
  throw new Error(
    "reader-sim/testkit/jest: there is no global jest expect here; import it inside a jest test file or setup file, or call registerRigMatchers(expect) with your runner's expect",
  );
}
registerRigMatchers(expect as ExtendableExpect);

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- @types/jest's own shape
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
    interface Matchers<R, T = {}> extends RigMatchers<R> {}
  }
}

export { registerRigMatchers };
