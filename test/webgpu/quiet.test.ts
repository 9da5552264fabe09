/**
 * @kts/webgpu/quiet: Dawn's start-up warnings are dropped from stderr, everything else passes
 * unchanged, in any chunking; a real program run quiet prints exactly its unfiltered stderr minus
 * those warnings, and keeps its exit status.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { DawnWarningFilter } from '@kts/webgpu';

const VULKAN = "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n" +
  '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)\n\n';
const LIMITS = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.\n' +
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.\n';
const LAVAPIPE = 'error: XDG_RUNTIME_DIR is invalid or not set in the environment.\n' +
  'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.\n - While initializing adapter (backend=BackendType::Vulkan)\n' +
  '    at InitializeImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:257)\n\n';
const OWN = 'backend: WebGPU\n\nWarning: your own warning stays\nerror: XDG_RUNTIME_DIR of yours\n - While yours\nkts 3/10 | loss 0.1\r' + 'kts 4/10 | loss 0.09\r\n    at yours (x.ts:1)\n';

function filterIn(chunks: string[]): string {
  const f = new DawnWarningFilter();
  return chunks.map((c) => f.push(c)).join('') + f.end();
}

describe('DawnWarningFilter', () => {
  it("drops exactly Dawn's start-up warnings, whatever the chunking", () => {
    const text = VULKAN + LAVAPIPE + LIMITS + OWN + LIMITS;
    fc.assert(fc.property(fc.array(fc.nat(text.length), { maxLength: 12 }), (cuts) => {
      const at = [...new Set([0, ...cuts, text.length])].sort((a, b) => a - b);
      const chunks = at.slice(1).map((end, i) => text.slice(at[i], end));
      assert.equal(filterIn(chunks), OWN);
    }));
  });

  it('passes a partial line at once unless it may start a warning', () => {
    const f = new DawnWarningFilter();
    assert.equal(f.push('kts 3/10\r'), 'kts 3/10\r');
    assert.equal(f.push('Warn'), '');
    assert.equal(f.push('ing: disk almost full\n'), 'Warning: disk almost full\n');
    assert.equal(f.end(), '');
  });
});

describe('a program run under @kts/webgpu/quiet', () => {
  const script = 'test/webgpu/quiet-app.ts';
  const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
    cwd: process.cwd(), encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env },
  });

  it('prints its stderr minus the warnings, and keeps its exit status', () => {
    const loud = run({ KTS_DEBUG: '1' });
    const quiet = run({});
    assert.equal(loud.status, 7, loud.stderr);
    assert.equal(quiet.status, 7, quiet.stderr);
    assert.equal(quiet.stderr, filterIn([loud.stderr]));
    assert.match(quiet.stderr, /own line before\n(.*\n)*own line after\n/);
    assert.doesNotMatch(quiet.stderr, /artificially reduced|Couldn't load Vulkan/);
  });
});
