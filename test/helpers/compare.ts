// Comparing arrays in tests.
import assert from 'node:assert/strict';

/** Largest |a[i] − b[i]| (NaN anywhere counts as Infinity); lengths must match. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : d;
  }
  return e;
}
