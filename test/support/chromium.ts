// Headless Chromium (Debian's `chromium`, installed by the test set-up) driven by playwright-core, with the flags
// this closed network needs and a new empty profile, for opening pages a test serves on 127.0.0.1.
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM_PACKAGE } from './debian-packages.ts';
import { tempDir } from './temp-dir.ts';

const FLAGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A browser context on its own temporary profile, and how to close both. */
export interface HeadlessChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium (no sandbox: the tests run as root) on a new empty profile directory. */
export async function startChromium(): Promise<HeadlessChromium> {
  const profile = await tempDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM_PACKAGE.programs[0]!,
    headless: true,
    chromiumSandbox: false,
    args: FLAGS,
    viewport: { width: 1280, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await profile.remove();
    },
  };
}
