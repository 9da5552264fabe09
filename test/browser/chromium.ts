// Debian's Chromium for the browser tests, driven by playwright-core (no browser download): where it
// is, and the flags for a headless machine without network and, usually, without a GPU.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** KTS_CHROMIUM, else Debian's binary (`apt-get install chromium`); /usr/bin/chromium is a wrapper script. */
export function chromiumPath(): string | null {
  const candidates = [process.env.KTS_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu', // WebGPU on Linux, including Chromium's CPU fallback adapter (SwiftShader)
  // nothing to reach: no background requests
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, timeout: 60_000 });
}
