/**
 * The kernel harness (bench/kernel.ts, `npm run kernel`): every registered kernel numbers its
 * versions 1…n, its shapes survive formatShape → parseShape, and one small kernel runs its check
 * for every version through the harness's own path (set-up, run, sync, check against the CPU
 * reference; the kernels themselves are tested in their own files).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KERNELS } from '../../bench/kernels/index.ts';
import { Rng } from '../../bench/kernels/harness.ts';

describe('kernel harness', () => {
  it('registers numbered versions and round-trips its shapes', () => {
    assert.ok(Object.keys(KERNELS).length >= 9);
    for (const k of Object.values(KERNELS)) {
      assert.deepEqual(k.versions.map((v) => v.version), k.versions.map((_, i) => i + 1), `${k.name}: versions`);
      for (const s of [...k.checkShapes, ...k.timeShapes]) assert.deepEqual(k.parseShape(k.formatShape(s)), s, `${k.name}: ${k.formatShape(s)}`);
    }
  });

  it('checks every version of adamw against its reference', async () => {
    const k = KERNELS['adamw']!;
    await k.init();
    try {
      for (const v of k.versions) {
        const inst = await v.setup(k.checkShapes[0], new Rng(5));
        try {
          inst.run();
          await inst.sync();
          assert.ok((await inst.check()) <= 1);
        } finally {
          inst.dispose();
        }
      }
    } finally {
      k.close();
    }
  });
});
