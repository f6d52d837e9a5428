import { Command } from '../command';
import { bench } from './bench';

/** Every `reader-sim` subcommand, in the order `--help` lists them. */
export const commands: Command[] = [bench];
