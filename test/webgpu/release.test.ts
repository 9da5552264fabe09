// A program that probes WebGPU, releases the device and goes on without it must not crash when
// the GC runs: Dawn aborts or hangs when its instance or adapter is collected (it did, 2 runs in
// 3, for `kts generate` after `auto` chose the CPU backend over llvmpipe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('WebGPU released, then garbage collected while the program goes on: exits cleanly', () => {
  for (let run = 0; run < 3; run++) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--conditions=source', '--import', 'tsx', 'test/webgpu/release-app.ts'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `run ${run}: status ${r.status} signal ${r.signal}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /release-app: ok/);
  }
});
