/**
 * The site view of the panel in a real browser (Debian's chromium, headless) against a real
 * site of three readers: the grid shows each reader's LED, a click shows one in detail, and
 * a badge presented there reaches that reader only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describeIfChromium, openChromium } from '../chromium';
import { serveFleet, type ServedFleet } from '../../firmware/profiles/fleet';
import { generatedSite } from '../../firmware/profiles/site';
import { sampleDatabase } from '../api/harness';
import { WAIT_MS } from '../poll';

jest.setTimeout(120_000);

describeIfChromium('site panel in chromium', () => {
  let fleet: ServedFleet;
  let dataDir: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-site-panel-'));
    fleet = await serveFleet({ site: generatedSite(3), dataDir, flash: 'memory', apiPort: 0 });
    // Only the second reader knows badge 10000.
    fleet.member('reader-002')!.board.reader()!.replaceDatabase(sampleDatabase(3));
    ({ context, page } = await openChromium(path.join(dataDir, 'chromium'), pageErrors, [
      '--disable-sync',
    ]));
  });

  afterAll(async () => {
    await context?.close();
    await fleet?.shutdown();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows a grid of the readers with their LEDs; one in detail; a badge at that door only', async () => {
    await page.goto(`${fleet.api.url}/panel/site/#token=${fleet.token}`);
    await page.waitForSelector('.reader[data-reader="reader-003"] .dot[data-color="red"]', {
      timeout: WAIT_MS,
    });
    expect(await page.locator('.reader').count()).toBe(3);
    await page.click('.reader[data-reader="reader-002"]');
    await page.waitForSelector('#detail-name:text("reader-002")', { timeout: WAIT_MS });
    await page.fill('#badge-value', '10000');
    await page.click('#present-badge');
    // The grid follows the reader's LED: green at reader-002, the others stay red.
    await page.waitForSelector('.reader[data-reader="reader-002"] .dot[data-color="green"]', {
      timeout: WAIT_MS,
    });
    expect(await page.getAttribute('.reader[data-reader="reader-001"] .dot', 'data-color')).toBe(
      'red',
    );
    await page.waitForSelector('#events li:text("access grant granted")', { timeout: WAIT_MS });
    const events = (id: string) =>
      fleet
        .member(id)!
        .board.reader()!
        .store.events.list(0, 100)
        .filter((e) => e.type === 'access');
    expect(events('reader-002')).toHaveLength(1);
    expect(events('reader-001')).toHaveLength(0);
    expect(pageErrors).toEqual([]);
  });
});
