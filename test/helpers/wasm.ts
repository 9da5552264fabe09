// The skip option of the WebAssembly-kernel tests: they may skip only where the kernels are not
// available, and under CI=true that is a failure, never a skip.
import { cpuKernels } from '@kts/tensor';

/** false when `available` (default: the CPU backend runs its WebAssembly kernels), else why it skips; throws under CI=true. */
export function skipWithoutWasm(available = cpuKernels().kernels === 'wasm'): false | string {
  if (available) return false;
  const why = `WebAssembly kernels unavailable (${cpuKernels().reason})`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${why}`);
  return why;
}
