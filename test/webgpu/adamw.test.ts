/**
 * kernels/adamw.wgsl (one in-place AdamW step) against the float64 CPU reference in
 * packages/webgpu/src/kernels/adamw.ts over several steps, vec4 and scalar lengths, on both kernel
 * families. Tolerance 1e-6 + 1e-5·|ref| for param, m and v.
 */
import { after, before, describe, it } from 'node:test';
import { destroyDevice, getDevice } from '@kts/webgpu';
import { adamwReference, adamwUpdate } from '@kts/webgpu/kernels';
import { assertClose, download, FAMILIES, release, Rng, upload, withFamily } from './helpers.ts';

describe('AdamW kernel vs float64 CPU reference', () => {
  before(async () => {
    await getDevice();
  });
  after(() => destroyDevice());

  for (const family of FAMILIES) {
    it(`AdamW update: several steps, vec4 and scalar lengths (${family})`, () => withFamily(family, async () => {
      for (const n of [1, 7, 64, 1001, 4096]) {
        const rng = new Rng(n);
        let p = rng.array(n), m: ArrayLike<number> = new Float32Array(n), v: ArrayLike<number> = new Float32Array(n);
        const P = upload(p), M = upload(new Float32Array(n)), V = upload(new Float32Array(n));
        try {
          for (let step = 1; step <= 3; step++) {
            const g = rng.array(n);
            const G = upload(g);
            const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step };
            adamwUpdate(P, G, M, V, n, hp);
            const r = adamwReference(p, g, m, v, hp);
            const [gp, gm, gv] = [await download(P, n), await download(M, n), await download(V, n)];
            assertClose('param', gp, r.param, { atol: 1e-6, rtol: 1e-5 });
            assertClose('m', gm, r.m, { atol: 1e-6, rtol: 1e-5 });
            assertClose('v', gv, r.v, { atol: 1e-6, rtol: 1e-5 });
            p = gp; m = gm; v = gv; // continue from the GPU state (f32)
            release(G);
          }
        } finally {
          release(P, M, V);
        }
      }
    }));
  }
});
