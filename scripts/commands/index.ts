import { Command } from '../command';
import { bench } from './bench';
import { start } from './start';
import { host } from './host';
import { flash } from './flash';
import { phone } from './phone';

/** Every `reader-sim` subcommand, in the order `--help` lists them. */
export const commands: Command[] = [start, bench, host, flash, phone];
