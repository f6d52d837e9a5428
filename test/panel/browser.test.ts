import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describeIfChromium, openChromium } from '../chromium';
import { HostClient } from '../../firmware/api/client';
import type { RunningApi } from '../../firmware/api/server';
import { SystemClock } from '../../firmware/foundation/clock';
import { DEFAULT_DOOR_CONFIG } from '../../firmware/door';
import { serveReader, type ServedReader } from '../../firmware/profiles/serve';
import { testDrivers } from '../../firmware/profiles/test';
import { ClockEdges } from '../../firmware/schedule-edges';
import { sampleDatabase } from '../api/harness';
import { until, WAIT_MS } from '../poll';

jest.setTimeout(120_000);

const REPORTS = path.join(__dirname, '..', '..', '.reports', 'panel');

/**
 * The front panel in a real browser (Debian's chromium, headless) against the real reader
 * in real time: the browser cannot run on a virtual clock. Screenshots go to .reports/panel/.
 */
describeIfChromium('front panel in chromium', () => {
  let served: ServedReader;
  let api: RunningApi;
  let token: string;
  let dataDir: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const clock = new SystemClock();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-panel-'));
    // The test profile on the system clock: the browser cannot run on a virtual one.
    served = await serveReader({
      drivers: {
        ...testDrivers({ clock, flash: { sectorCount: 256 } }),
        edges: new ClockEdges(clock),
      },
      dataDir,
      apiPort: 0,
    });
    ({ api, token } = served);
    await new HostClient(api.url, token).push(sampleDatabase(3));
    fs.mkdirSync(REPORTS, { recursive: true });
    ({ context, page } = await openChromium(path.join(dataDir, 'chromium'), pageErrors, [
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ]));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    await served?.shutdown();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const led = () => page.getAttribute('#led', 'data-color');
  // Checks poll from here (until): a string predicate inside the page would need eval, which the
  // page's Content-Security-Policy (rightly) forbids.

  it('opens with the token from the fragment, shows the idle reader live, fits a phone', async () => {
    await page.goto(`${api.url}/panel/#token=${token}`);
    await page.waitForSelector('#live[data-live="true"]', { timeout: WAIT_MS });
    expect(await led()).toBe('red');
    expect(await page.textContent('#relay')).toBe('locked');
    expect(await page.textContent('#door')).toBe('closed');
    await page.waitForSelector('#access-point:text("schedule")', { timeout: WAIT_MS });
    expect(await page.textContent('#access-point')).toMatch(/^schedule/);
    // The token left the address bar; it lives in sessionStorage.
    expect(page.url()).toBe(`${api.url}/panel/`);
    // (Browser-side code as a string: this project compiles without the DOM library.)
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.textContent('#phones')).toMatch(/not reported/);
    await page.screenshot({ path: path.join(REPORTS, 'idle.png'), fullPage: true });
  });

  it('present badge, valid: LED green at once, for the unlock time, relay unlocked', async () => {
    await page.fill('#badge-value', '10000');
    const pressed = Date.now();
    await page.click('#present-badge');
    await page.waitForSelector('#led[data-color="green"]', { timeout: WAIT_MS });
    const greenAfter = Date.now() - pressed;
    await page.waitForSelector('#relay[data-state="unlocked"]', { timeout: WAIT_MS });
    await page.waitForSelector('#events li[data-reason="granted"]', { timeout: WAIT_MS });
    // Each event shows its date with the time, in UTC.
    expect(await page.textContent('#events li[data-reason="granted"]')).toMatch(
      /^#\d+ \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z granted /,
    );
    await page.screenshot({ path: path.join(REPORTS, 'granted.png'), fullPage: true });
    // Green lasts the unlock time (5 s), then the idle red returns.
    await page.waitForSelector('#led[data-color="red"]', {
      timeout: DEFAULT_DOOR_CONFIG.unlockMs + WAIT_MS,
    });
    const greenFor = Date.now() - pressed - greenAfter;
    // Real time in a browser: the exact timeline is checked on the virtual clock
    // (test/led, test/hil). Here green came inside the unlock time and lasted about that long.
    expect(greenAfter).toBeLessThan(DEFAULT_DOOR_CONFIG.unlockMs);
    expect(greenFor).toBeGreaterThan(DEFAULT_DOOR_CONFIG.unlockMs - 1000);
    await page.waitForSelector('#relay[data-state="locked"]', { timeout: WAIT_MS });
  });

  it('present badge, unknown: LED flashes red (off between), reason code listed', async () => {
    const seen: string[] = [];
    await page.exposeFunction('ledSeen', (c: string) => seen.push(c));
    await page.evaluate(`(() => {
      const el = document.getElementById('led');
      new MutationObserver(() => window.ledSeen(el.getAttribute('data-color')))
        .observe(el, { attributes: true, attributeFilter: ['data-color'] });
    })()`);
    await page.fill('#badge-value', '99999');
    await page.click('#present-badge');
    await page.waitForSelector('#events li[data-reason="unknown_credential"]', {
      timeout: WAIT_MS,
    });
    await page.waitForSelector('#led[data-color="off"]', { timeout: WAIT_MS });
    await page.screenshot({ path: path.join(REPORTS, 'denied.png'), fullPage: true });
    // Three 200/200 ms flashes: red, off, red, off, red, off, then idle red.
    await until(
      () => seen.filter((c) => c === 'off').length >= 3 && seen[seen.length - 1] === 'red',
    );
    expect(seen.filter((c) => c === 'off').length).toBe(3);
    expect(seen[seen.length - 1]).toBe('red');
    expect(await page.textContent('#relay')).toBe('locked');
  });

  it('drives the door and REX from the buttons', async () => {
    await page.click('#door-open');
    await page.waitForSelector('#door[data-state="forced-open"]', { timeout: WAIT_MS });
    await page.screenshot({ path: path.join(REPORTS, 'forced.png'), fullPage: true });
    await page.click('#door-close');
    await page.waitForSelector('#door[data-state="closed"]', { timeout: WAIT_MS });
    await page.click('#press-rex');
    await page.waitForSelector('#relay[data-state="unlocked"]', { timeout: WAIT_MS });
    expect(pageErrors).toEqual([]);
  });

  it('types a PIN and starts enrollment from the buttons', async () => {
    const accessEvents = () => page.locator('#events li[data-type="access"]').count();
    const before = await accessEvents();
    await page.fill('#pin-value', '9999');
    await page.click('#type-pin');
    await until(async () => (await accessEvents()) > before);
    expect(await page.getAttribute('#events li[data-type="access"]', 'data-reason')).toMatch(
      /^[a-z_]+$/,
    );
    await page.fill('#enroll-user', 'u1');
    await page.click('#start-enroll');
    await page.waitForSelector('#led[data-color="amber"]', { timeout: WAIT_MS });
    expect(await page.textContent('#led-name')).toContain('enroll');
    await page.waitForSelector('#access-point:text("enroll mode")', { timeout: WAIT_MS });
    await page.waitForSelector('#message:text("start-enroll: ok")', { timeout: WAIT_MS });
    await page.screenshot({ path: path.join(REPORTS, 'enroll.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
