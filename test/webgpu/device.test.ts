/**
 * Device, limits, pool and batch basics. In CI (CI=true) an adapter must be found: getDevice()
 * throws otherwise, so this file fails instead of skipping.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  adapterInfo, checkStorageBufferSize, destroyDevice, getDevice, WebGPUError, getPool, readBuffer, sizeClass, writeBuffer, type BufferPool,
  getBatch, packUniforms, getPipeline, hasFeature, kernelFamily, setKernelFamily,
} from '@kts/webgpu';
import { planRows } from '@kts/webgpu/kernels';

let device: GPUDevice;
let pool: BufferPool;

describe('webgpu device', () => {
  before(async () => {
    device = await getDevice();
    pool = await getPool();
  });
  after(() => destroyDevice());

  it('finds an adapter (required when CI=true) and reports its info', async () => {
    assert.ok(device, 'no device');
    assert.equal(await getDevice(), device, 'getDevice() is a singleton');
    const info = adapterInfo();
    assert.ok(info.limits.maxStorageBufferBindingSize! > 0);
    assert.ok(['default', 'opengles'].includes(info.backend));
    if (info.isLlvmpipe) assert.ok(info.simdLanes === 8 || info.simdLanes === 16 || info.simdLanes === 4);
    if (process.env.CI === 'true') assert.ok(info.device.length > 0 || info.description.length > 0);
  });

  it('kernel family: CPU renderers run the llvmpipe versions; KTS_WEBGPU_KERNELS and setKernelFamily force one', () => {
    const info = adapterInfo();
    const env = process.env.KTS_WEBGPU_KERNELS;
    try {
      delete process.env.KTS_WEBGPU_KERNELS;
      assert.equal(kernelFamily(), info.software ? 'llvmpipe' : 'gpu');
      if (info.isLlvmpipe) assert.ok(info.software);
      process.env.KTS_WEBGPU_KERNELS = 'gpu';
      assert.equal(kernelFamily(), 'gpu');
      process.env.KTS_WEBGPU_KERNELS = 'llvmpipe';
      assert.equal(kernelFamily(), 'llvmpipe');
      assert.equal(setKernelFamily('gpu'), null);
      assert.equal(kernelFamily(), 'gpu', 'setKernelFamily wins over the variable');
      setKernelFamily(null);
      process.env.KTS_WEBGPU_KERNELS = 'fast';
      assert.throws(() => kernelFamily(), /KTS_WEBGPU_KERNELS must be 'gpu', 'llvmpipe' or 'auto'/);
    } finally {
      setKernelFamily(null);
      if (env === undefined) delete process.env.KTS_WEBGPU_KERNELS;
      else process.env.KTS_WEBGPU_KERNELS = env;
    }
  });

  it('subgroups: requested where the adapter has them; the start-up probe enables the subgroup row reductions', () => {
    const info = adapterInfo();
    assert.equal(info.features.includes('subgroups'), hasFeature('subgroups'));
    const plan = planRows(2, 32000, { family: 'gpu' });
    if (!hasFeature('subgroups')) {
      assert.equal(info.subgroupReductions, false);
      assert.equal(plan.subgroups, false);
      return;
    }
    // Every known implementation (lavapipe, NVIDIA, AMD, Intel, Apple) numbers subgroups contiguously.
    assert.ok(info.subgroupMaxSize >= info.subgroupMinSize && info.subgroupMinSize > 0);
    assert.equal(info.subgroupReductions, true);
    assert.equal(plan.g, 256);
    assert.equal(plan.subgroups, true);
    assert.equal(planRows(2, 32000, { family: 'llvmpipe' }).subgroups, false);
  });

  it('oversize storage buffer requests fail with a clear error naming the limit', () => {
    const max = device.limits.maxStorageBufferBindingSize;
    const want = max + 1024;
    const re = new RegExp(`maxStorageBufferBindingSize.*${max}|${want}.*maxStorageBufferBindingSize`);
    assert.throws(() => checkStorageBufferSize(device, want), (e: unknown) => {
      assert.ok(e instanceof WebGPUError);
      assert.match((e as Error).message, /maxStorageBufferBindingSize/);
      assert.match((e as Error).message, new RegExp(String(want)));
      assert.match((e as Error).message, re);
      return true;
    });
    assert.throws(() => pool.acquire(want), /maxStorageBufferBindingSize/);
    assert.doesNotThrow(() => checkStorageBufferSize(device, max));
  });

  it('size classes round up by at most 25 % and to 256 B', () => {
    for (const n of [1, 255, 256, 257, 1000, 1025, 4097, 1e6, 3e7]) {
      const s = sizeClass(n);
      assert.ok(s >= n && s % 256 === 0, `${n} -> ${s}`);
      if (n > 1024) assert.ok(s <= n * 1.25 + 256, `${n} -> ${s}`);
    }
  });

  it('pool reuses released buffers and memory stays flat', () => {
    const before = pool.stats();
    const a = pool.acquire(10_000);
    const size = pool.sizeOf(a);
    assert.ok(size >= 10_000);
    pool.release(a);
    const b = pool.acquire(9_000); // same size class
    assert.equal(b, a, 'same GPUBuffer object handed out again');
    pool.release(b);
    for (let i = 0; i < 50; i++) {
      const x = pool.acquire(1 << 16);
      const y = pool.acquire(3000);
      pool.release(x);
      pool.release(y);
    }
    const s1 = pool.stats();
    for (let i = 0; i < 50; i++) {
      const x = pool.acquire(1 << 16);
      const y = pool.acquire(3000);
      pool.release(x);
      pool.release(y);
    }
    const s2 = pool.stats();
    assert.equal(s2.created, s1.created, 'no new buffers once warm');
    assert.equal(s2.bytesPooled, s1.bytesPooled);
    assert.equal(s2.bytesInUse, before.bytesInUse);
    assert.ok(s2.reused > s1.reused);
    assert.throws(() => pool.release(b), /released twice/);
  });

  it('writeBuffer / readBuffer round trip', async () => {
    const data = new Float32Array(1000).map((_, i) => i * 0.5 - 7);
    const buf = pool.acquire(data.byteLength);
    writeBuffer(buf, data);
    const back = new Float32Array(await readBuffer(buf, data.byteLength));
    assert.deepEqual(back, data);
    const part = new Float32Array(await readBuffer(buf, 16, 40));
    assert.deepEqual(part, data.subarray(10, 14));
    pool.release(buf);
  });

  it('batch records many dispatches into one submit, with per-dispatch uniforms', async () => {
    const batch = await getBatch();
    const code = `
      struct U { add: f32, n: u32 }
      @group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @group(0) @binding(1) var<uniform> u: U;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
        if (g.x < u.n) { x[g.x] = x[g.x] + u.add; }
      }`;
    const n = 100;
    const buf = pool.acquire(n * 4);
    writeBuffer(buf, new Float32Array(n));
    const submits0 = batch.counters().submits;
    for (let i = 1; i <= 20; i++) {
      batch.dispatch({ code, buffers: [buf], uniforms: packUniforms([['f32', i], ['u32', n]]), workgroups: [2] });
    }
    assert.equal(batch.pending, 20);
    const out = new Float32Array(await batch.read(buf, n * 4));
    assert.equal(batch.counters().submits, submits0 + 1, 'one submit for 20 dispatches');
    assert.ok(out.every((v) => v === 210), `expected 210, got ${out[0]}`);
    // A write after recorded (unsubmitted) work must not be seen by that work.
    batch.dispatch({ code, buffers: [buf], uniforms: packUniforms([['f32', 1], ['u32', n]]), workgroups: [2] });
    writeBuffer(buf, new Float32Array(n).fill(5)); // flushes the pending dispatch first
    const out2 = new Float32Array(await readBuffer(buf, n * 4));
    assert.ok(out2.every((v) => v === 5));
    pool.release(buf);
  });

  it('pipeline cache returns the same pipeline for the same code/entry/constants', () => {
    const code = `override S: f32 = 1.0;
      @group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @compute @workgroup_size(1) fn main() { x[0] = S; }`;
    const p1 = getPipeline(device, code, 'main', { S: 2 });
    const p2 = getPipeline(device, code, 'main', { S: 2 });
    const p3 = getPipeline(device, code, 'main', { S: 3 });
    assert.equal(p1, p2);
    assert.notEqual(p1, p3);
  });

  it('validation errors surface as WebGPUError on flush', async () => {
    const batch = await getBatch();
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @compute @workgroup_size(1) fn main() { x[0] = 1.0; }`;
    // Uniform buffer bound where a storage buffer is expected -> validation error.
    const bad = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM });
    assert.throws(() => {
      batch.dispatch({ code, buffers: [bad], workgroups: [1] });
      batch.flush();
    }, WebGPUError);
    await device.queue.onSubmittedWorkDone();
    batch.discard();
    bad.destroy();
  });
});
