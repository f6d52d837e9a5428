/**
 * The panel tests' browser: Debian's chromium, headless, through playwright-core. Suites
 * that need it skip where it is not installed.
 */
import fs from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const describeIfChromium = fs.existsSync(CHROMIUM) ? describe : describe.skip;

/**
 * Opens chromium on its own profile dir with a phone-sized screen (the panels must be usable
 * there); uncaught page errors go into `pageErrors`. `extraArgs` add chromium flags.
 */
export async function openChromium(
  profileDir: string,
  pageErrors: string[],
  extraArgs: string[] = [],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', ...extraArgs],
    viewport: { width: 390, height: 844 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return { context, page };
}
