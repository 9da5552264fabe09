// OPS.md is generated from the code; this fails when a file it maps moved, or a kernel has no op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { opsMarkdown, unlinkedKernels } from '../scripts/ops-md.ts';

test('OPS.md is what scripts/ops-md.ts writes from the current tree', () => {
  const md = opsMarkdown();
  assert.equal(readFileSync('OPS.md', 'utf8'), md, 'OPS.md is stale: run node --conditions=source --import tsx scripts/ops-md.ts');
});

test('OPS.md links only files that exist, and every kernel file from some op', () => {
  const md = opsMarkdown();
  const targets = [...md.matchAll(/\]\(([^)#]+)(?:#L\d+)?\)/g)].map((m) => m[1]!);
  assert.ok(targets.length > 50, `OPS.md links ${targets.length} files`);
  for (const t of targets) assert.ok(existsSync(t), `OPS.md links ${t}, which does not exist`);
  assert.deepEqual(unlinkedKernels(md), [], 'kernel files that no op row links');
});
