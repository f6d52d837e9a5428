import { ble } from './ble';
import { cli } from './cli';
import { core } from './core';
import { fleet } from './fleet';
import { host } from './host';
import { mobile } from './mobile';
import { mqtt } from './mqtt';
import { osdp } from './osdp';
import { storage } from './storage';
import { BenchSuite } from './suite';

/** Every benchmark suite, in the order `reader-sim bench` runs them. */
export const suites: BenchSuite[] = [storage, core, host, ble, mobile, cli, mqtt, fleet, osdp];
