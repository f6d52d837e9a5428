import { EventEmitter } from 'node:events';

export type LinkState = 'up' | 'down';

/**
 * The simulated network cable between the management system and the reader. It belongs
 * to the board, not the firmware: a power cycle does not plug it back in. While it is
 * down the host endpoints answer 503 host_link_down and open event streams are closed;
 * the reader keeps deciding locally and its events stay in flash until acknowledged.
 *
 * Events: 'change' (LinkState).
 */
export class HostLink extends EventEmitter {
  private current: LinkState = 'up';
  private since: number;

  constructor(private readonly now: () => number) {
    super();
    this.since = now();
  }

  state(): { state: LinkState; since: string } {
    return { state: this.current, since: new Date(this.since).toISOString() };
  }

  isUp(): boolean {
    return this.current === 'up';
  }

  cut(): void {
    this.set('down');
  }

  restore(): void {
    this.set('up');
  }

  private set(state: LinkState): void {
    if (state === this.current) return;
    this.current = state;
    this.since = this.now();
    this.emit('change', state);
  }
}
