// Host services in a browser: there is no file system, so every file and path function throws an
// error that says what to use instead; env() is always undefined. Selected over ./node.ts by the
// "browser" condition of @kts/tensor's "exports" ("./host") and "imports" ("#host"). Each export is
// typed as ./node.ts's, and tsconfig.browser.json type-checks the packages with this module in place.
import type * as Node from './node.ts';

function unavailable(name: string): (...args: unknown[]) => never {
  return () => {
    throw new Error(
      `${name}: there is no file system in a browser; load from a URL, a File or an ArrayBuffer instead ` +
        '(loadModelFrom, loadTokenizerFrom, SteeringVector.fromBytes, loadPeftAdapterFrom)',
    );
  };
}

export const HOST: 'node' | 'browser' = 'browser';

export const closeSync: typeof Node.closeSync = unavailable('closeSync');
export const copyFileSync: typeof Node.copyFileSync = unavailable('copyFileSync');
export const existsSync: typeof Node.existsSync = unavailable('existsSync');
export const fstatSync: typeof Node.fstatSync = unavailable('fstatSync');
export const fsyncSync: typeof Node.fsyncSync = unavailable('fsyncSync');
export const mkdirSync: typeof Node.mkdirSync = unavailable('mkdirSync');
export const openSync: typeof Node.openSync = unavailable('openSync');
export const readFileSync: typeof Node.readFileSync = unavailable('readFileSync');
export const readSync: typeof Node.readSync = unavailable('readSync');
export const readdirSync: typeof Node.readdirSync = unavailable('readdirSync');
export const renameSync: typeof Node.renameSync = unavailable('renameSync');
export const rmSync: typeof Node.rmSync = unavailable('rmSync');
export const statSync: typeof Node.statSync = unavailable('statSync');
export const unlinkSync: typeof Node.unlinkSync = unavailable('unlinkSync');
export const writeFileSync: typeof Node.writeFileSync = unavailable('writeFileSync');
export const writeSync: typeof Node.writeSync = unavailable('writeSync');
export const basename: typeof Node.basename = unavailable('path.basename');
export const dirname: typeof Node.dirname = unavailable('path.dirname');
export const join: typeof Node.join = unavailable('path.join');
export const resolve: typeof Node.resolve = unavailable('path.resolve');
export const createHash: typeof Node.createHash = unavailable('createHash');
export const randomBytes: typeof Node.randomBytes = unavailable('randomBytes');

export const fs: Node.HostFs = {
  closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync,
};

export function env(_name: string): string | undefined {
  return undefined;
}

export function gcFunction(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  return typeof exposed === 'function' ? exposed : null;
}
