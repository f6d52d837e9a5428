import { ble } from './ble';
import { core } from './core';
import { host } from './host';
import { BenchSuite } from './suite';

/** Every benchmark suite, in the order `reader-sim bench` runs them. */
export const suites: BenchSuite[] = [core, host, ble];
