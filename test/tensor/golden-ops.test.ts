// Golden tests: every tensor op against PyTorch (reference/goldens/ops.json, written by
// reference/ops_goldens.py; see reference/README.md for the format and the tolerances).
//
// Each case: build the inputs (optionally through a view, to exercise non-contiguous
// strides), run the op, compare the output (allclose with the case's rtol/atol; int32
// outputs exactly), then backprop loss = sum(out * w) and compare the gradient of every
// input *base* tensor. One test per case; an op without a dispatch entry fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { golden, runGoldenCase } from '../helpers/golden-ops.ts';

test(`ops.json is present and non-trivial (torch ${golden.torch})`, () => {
  assert.ok(golden.cases.length > 100, `only ${golden.cases.length} cases`);
});

for (const c of golden.cases) {
  test(`${c.op}: ${c.name}`, () => runGoldenCase(c, 'cpu'));
}
