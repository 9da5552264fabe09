// Shared by the CPU kernel tests: a set of computations must give the same bits on 1, 2 and 3
// threads, and with 2 and 3 threads must really use the workers.
import assert from 'node:assert/strict';
import { cpuThreadStats, setCpuThreads, stopCpuThreads } from '@kts/tensor';

/** Runs every case on 1, then 2, then 3 threads (the workers start twice) and compares the bits. */
export function assertSameBitsOnThreads(cases: readonly (readonly [name: string, run: () => ArrayLike<number>[]])[]): void {
  try {
    const runs = [1, 2, 3].map((t) => {
      setCpuThreads(t);
      return cases.map(([name, run]) => {
        const before = cpuThreadStats().parallelCalls;
        const out = run().map((a) => Array.from(a));
        if (t > 1) assert.ok(cpuThreadStats().parallelCalls > before, `${name}: ${t} threads used the workers`);
        return out;
      });
    });
    cases.forEach(([name], i) => {
      for (const t of [1, 2]) {
        runs[t]![i]!.forEach((a, k) => a.forEach((v, j) => {
          const w = runs[0]![i]![k]![j]!;
          if (!Object.is(v, w) && !(Number.isNaN(v) && Number.isNaN(w))) assert.fail(`${name}: output ${k}[${j}] on ${t + 1} threads is ${v}, on 1 thread ${w}`);
        }));
      }
    });
  } finally {
    setCpuThreads(1);
    stopCpuThreads();
  }
}
