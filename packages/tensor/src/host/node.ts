// Host services on Node: files, paths, hashing, the environment and a forced garbage collection.
//
// Every kts module that needs the host imports it from here (`#host` inside @kts/tensor,
// `@kts/tensor/host` elsewhere) rather than from `node:*`, so that a browser bundle swaps in
// ./browser.ts through the package's "browser" export condition and carries no Node import.
import nodeFs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

/** The file-system calls kts makes, as one object (looked up at call time, so a test can mock one). */
export type HostFs = Pick<typeof nodeFs,
  'closeSync' | 'existsSync' | 'fstatSync' | 'fsyncSync' | 'openSync' | 'readFileSync' | 'readSync' | 'renameSync' |
  'statSync' | 'unlinkSync' | 'writeSync'>;
export const fs: HostFs = nodeFs;

export {
  closeSync, copyFileSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync,
  readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
export { basename, dirname, join, resolve } from 'node:path';
export { createHash, randomBytes } from 'node:crypto';

/** Where this code runs (the browser twin says 'browser'). */
export const HOST: 'node' | 'browser' = 'node';

/** An environment variable, or undefined (always undefined in a browser). */
export function env(name: string): string | undefined {
  return process.env[name];
}

let gc: (() => void) | null | undefined;

/** A function that runs a full garbage collection (V8's, exposed on demand), or null where there is none. */
export function gcFunction(): (() => void) | null {
  if (gc !== undefined) return gc;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (gc = exposed);
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  } catch {
    gc = null;
  }
  return gc;
}
