/**
 * The CPU kernels in the kernel harness (bench/kernels/*, `npm run kernel -- <op>-cpu`): every
 * version of every CPU entry (the TypeScript loops, the WebAssembly kernels) passes its check on
 * every check shape through the harness's own path (set-up, run, sync, check against the float64
 * reference) on 2 threads, and the library's pick is a version the entry has. Versions whose
 * kernels cannot run here say so (unavailable) rather than fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KERNELS } from '../../bench/kernels/index.ts';
import { Rng } from '../../bench/kernels/harness.ts';

const cpu = Object.values(KERNELS).filter((k) => k.backend === 'cpu');

test('the kernel harness has a CPU entry for every WebAssembly kernel module', () => {
  assert.deepEqual(cpu.map((k) => k.name).sort(), [
    'adamw-cpu', 'attention-cpu', 'cross-entropy-cpu', 'elementwise-cpu', 'kl-cpu', 'matmul-cpu', 'reduce-cpu', 'rmsnorm-cpu', 'rotary-cpu', 'softmax-cpu',
  ]);
});

for (const k of cpu) {
  test(`${k.name}: every version passes its check on every check shape (2 threads)`, async () => {
    await k.init({ threads: 2 });
    try {
      for (const s of k.checkShapes) {
        assert.ok(k.versions.some((v) => v.version === k.current(s)), `${k.name} ${k.formatShape(s)}: the library's pick is a version`);
        for (const v of k.versions) {
          if (v.unavailable?.(s)) continue;
          const inst = await v.setup(s, new Rng(7));
          try {
            inst.run();
            await inst.sync();
            const w = await inst.check();
            assert.ok(w <= 1, `${k.name} v${v.version} ${k.formatShape(s)}: ${w}`);
          } finally {
            inst.dispose();
          }
        }
      }
    } finally {
      k.close();
    }
  });
}
