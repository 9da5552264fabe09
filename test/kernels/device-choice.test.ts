// 'auto' device selection (packages/steer/src/device.ts): on a software WebGPU adapter (llvmpipe)
// the CPU backend is taken when it runs on its WebAssembly kernels, and WebGPU when it only has its
// TypeScript loops; the description says which and why. 'cpu' names the kernels in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuKernels, setCpuKernels } from '@kts/tensor';
import { releaseDevice, selectDevice } from '@kts/steer';

test("selectDevice('cpu') says which CPU kernels run", async () => {
  setCpuKernels('js');
  assert.match((await selectDevice('cpu')).description, /^CPU backend \(TypeScript loops: KTS_CPU_KERNELS=js\)$/);
  setCpuKernels('wasm');
  if (cpuKernels().kernels === 'wasm') assert.match((await selectDevice('cpu')).description, /^CPU backend \(WebAssembly SIMD.*\d+ threads?\)$/);
});

test("'auto' prefers the CPU kernels over a software WebGPU adapter, and WebGPU over the TypeScript loops", async (t) => {
  let adapter: string;
  try {
    adapter = (await selectDevice('webgpu')).description;
    releaseDevice();
  } catch (e) {
    if (process.env.CI === 'true') throw e; // CI=true: a missing adapter is a failure, never a skip
    t.skip('no WebGPU adapter here');
    return;
  }
  if (!/llvmpipe|swiftshader|lavapipe/i.test(adapter)) {
    // A hardware adapter: 'auto' keeps WebGPU whatever the CPU kernels are.
    const auto = await selectDevice('auto');
    releaseDevice();
    assert.equal(auto.device, 'webgpu', auto.description);
    return;
  }
  try {
    setCpuKernels('js');
    const slow = await selectDevice('auto');
    assert.equal(slow.device, 'webgpu', slow.description);
    releaseDevice();
    setCpuKernels('wasm');
    if (cpuKernels().kernels !== 'wasm') return;
    const fast = await selectDevice('auto');
    assert.equal(fast.device, 'cpu');
    assert.match(fast.description, /WebAssembly SIMD.*chosen over WebGPU on .*llvmpipe.*software renderer/i);
  } finally {
    setCpuKernels('wasm');
    releaseDevice();
  }
});
