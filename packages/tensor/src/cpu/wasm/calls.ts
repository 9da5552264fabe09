// A kernel call as the launchers describe it and the threads run it (threads.ts in Node,
// threads-browser.ts in a page): module, function, numeric arguments (addresses, sizes, scalars).
import type { KernelModule } from './runtime.ts';

export type WasmCall = [module: string, fn: string, args: number[]];

/** An argument that stands for the executing thread's own scratch (threadWork in launch.ts). */
export const WORK = -2;

/** Runs a piece's kernel calls with this thread's instances; WORK arguments become `work`. */
export function runCalls(k: Readonly<Record<string, KernelModule>>, calls: readonly WasmCall[], work = WORK): void {
  for (const [m, f, args] of calls) k[m]![f]!(...args.map((a) => (a === WORK ? work : a)));
}
