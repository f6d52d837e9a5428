/**
 * The front panel's "phones in range" in a real browser (Debian's chromium, headless): two
 * phones link to the reader's GATT service on the virtual air at different distances; the
 * page lists them nearest first with their RSSI in dBm (the air's path-loss model), names
 * one by deviceId once it presented, and follows the changes live from the panel stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describeIfChromium, openChromium } from '../chromium';
import { meanRssi } from '../../ble/controller/radio-model';
import type { PhoneLink } from '../../ble/phone';
import { MobileRig, startMobileRig } from './harness';
import { WAIT_MS } from '../poll';

jest.setTimeout(120_000);

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
/** The controllers' transmit power (ble/controller: txPowerDbm default). */
const TX_POWER_DBM = 0;

describeIfChromium('front panel: phones in range (chromium)', () => {
  let rig: MobileRig;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const links: PhoneLink[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    rig = await startMobileRig(START);
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-phones-panel-'));
    ({ context, page } = await openChromium(profileDir, pageErrors));
  });

  afterAll(async () => {
    await context?.close();
    for (const link of links) await link.disconnect().catch(() => undefined);
    await rig?.close();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  });

  const rows = async () =>
    (await page.$$eval('#phones li', (items) => items.map((li) => li.textContent ?? ''))).map(
      (text) => text.replace(/\s+/g, ' ').trim(),
    );
  const until = async (check: () => Promise<boolean>, ms = WAIT_MS) => {
    for (const end = Date.now() + ms; !(await check());) {
      if (Date.now() > end) throw new Error(`condition not met in time; rows: ${await rows()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const dbm = (meters: number) =>
    `${Math.round(meanRssi(TX_POWER_DBM, meters, rig.air.pathLoss))} dBm`;

  it('lists the linked phones nearest first, by deviceId once presented, live', async () => {
    await page.goto(`${rig.apiUrl}/panel/#token=${rig.token}`);
    await page.waitForSelector('#live[data-live="true"]', { timeout: WAIT_MS });
    await until(async () => (await rows())[0] === 'no phone in range');

    const far = rig.phone({ distance: 8 });
    const near = rig.phone({ distance: 2 });
    links.push(await far.phone.connect(await far.phone.find()));
    links.push(await near.phone.connect(await near.phone.find()));
    const farAddress = far.controller!.address.toLowerCase();
    const nearAddress = near.controller!.address.toLowerCase();
    await until(async () => {
      const r = await rows();
      return r.length === 2 && r.every((row) => row.includes(' dBm') && !row.includes('?'));
    });
    expect(await rows()).toEqual([
      `${nearAddress} ${dbm(2)} connected`,
      `${farAddress} ${dbm(8)} connected`,
    ]);

    // The far phone presents (unknown to the reader: denied); now it has a name and a profile.
    const challenge = await links[0]!.challenge();
    await links[0]!.writeCredential(far.phone.presentation(challenge));
    await links[0]!.result();
    await until(
      async () => (await rows())[1] === `${far.phone.key.deviceId} [reader-sim] ${dbm(8)} answered`,
    );

    // The event list says which profile the presentation came by.
    const events = () =>
      page.$$eval('#events li', (items) => items.map((li) => li.textContent ?? ''));
    await until(async () => (await events()).some((t) => t.includes('(mobile, reader-sim)')));

    // It walks up to 1 m: at the next RSSI refresh (reader clock) it is the nearest.
    far.controller!.setPosition(1);
    await rig.clock.advanceAsync(1000);
    await until(
      async () => (await rows())[0] === `${far.phone.key.deviceId} [reader-sim] ${dbm(1)} answered`,
    );

    await links[0]!.disconnect();
    await until(
      async () => (await rows())[0] === `${far.phone.key.deviceId} [reader-sim] ${dbm(1)} gone`,
    );
    expect(pageErrors).toEqual([]);
  });
});
