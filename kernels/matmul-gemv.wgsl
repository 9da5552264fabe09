// matmul-gemv.wgsl — C = A·B or A·Bᵀ for a few rows of A (M ≤ MR ≤ 8: single-token decode's
// x·Wᵀ, small generation batches) on real GPUs. Such products are bound by reading B once, so
// the kernel spreads B's columns over many workgroups and reads B coalesced; f32 accumulation,
// B may be stored as f16 (the F16B variant). (matmul-tiled.wgsl serves larger M; the launcher is
// packages/webgpu/src/kernels/matmul.ts.)
//
//   gemv_nt: B [N,K]. A workgroup owns NC = WG / LK columns; the LK lanes of a column walk
//            k = lane, lane + LK, … (consecutive lanes read consecutive k of one row of B) and
//            their partial sums meet in a workgroup-memory tree. Dispatch (ceil(N / NC), 1, batch).
//   gemv_nn: B [K,N]. A workgroup owns WG / KS columns, one per lane, and splits K into KS
//            interleaved slices (consecutive lanes read consecutive columns of one row of B);
//            the KS partials meet in workgroup memory. Dispatch (ceil(N / (WG / KS)), 1, batch).
// Each lane keeps MR accumulators (rows ≥ M are computed on row M−1's clamped address and not
// stored). (Prefixed with kernels/matmul-common.wgsl: Params, bindings, bases(), F16B.)
// Consts: WG, LK, KS, MR; flag F16B (B as array<f16>: device feature shader-f16).
// Workgroup memory: WG·MR·4 bytes. Limits: bindings ≤ maxStorageBufferBindingSize; grid ≤ 65535.

const WG: u32 = 256u;
const LK: u32 = 32u;  // gemv_nt: lanes per column
const KS: u32 = 4u;   // gemv_nn: K slices
const MR: u32 = 1u;

var<workgroup> red: array<f32, WG * MR>;

// Row r's A offset (rows ≥ M clamped to M − 1).
fn aRow(base: u32, r: u32) -> u32 { return base + min(r, p.M - 1u) * p.K; }

// Sums red[slot·MR + r] over the `parts` slots (stride `stride`) that share `owner`; the owner
// slot gets the total. All WG invocations must call it (barriers).
fn reduceSlots(tid: u32, parts: u32, stride: u32) {
  workgroupBarrier();
  for (var s = parts / 2u; s > 0u; s = s / 2u) {
    let part = (tid / stride) % parts;
    if (part < s) {
      for (var r = 0u; r < MR; r++) { red[tid * MR + r] += red[(tid + s * stride) * MR + r]; }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn gemv_nt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let base = bases(wid.z);
  let lane = tid % LK;
  let n = wid.x * (WG / LK) + tid / LK;
  let bRow = base.b + min(n, p.N - 1u) * p.K;
  var acc: array<f32, MR>;
  for (var k = lane; k < p.K; k += LK) {
    let bv = f32(B[bRow + k]);
    for (var r = 0u; r < MR; r++) { acc[r] = fma(A[aRow(base.a, r) + k], bv, acc[r]); }
  }
  // Lanes of one column are contiguous: slot = column·LK + lane.
  for (var r = 0u; r < MR; r++) { red[tid * MR + r] = acc[r]; }
  reduceSlots(tid, LK, 1u);
  if (lane == 0u && n < p.N) {
    for (var r = 0u; r < MR; r++) {
      if (r < p.M) { C[base.c + r * p.N + n] = red[tid * MR + r]; }
    }
  }
}

@compute @workgroup_size(WG)
fn gemv_nn(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let base = bases(wid.z);
  let cols = WG / KS;
  let slice = tid / cols;
  let n = wid.x * cols + tid % cols;
  let nc = min(n, p.N - 1u);
  var acc: array<f32, MR>;
  for (var k = slice; k < p.K; k += KS) {
    let bv = f32(B[base.b + k * p.N + nc]);
    for (var r = 0u; r < MR; r++) { acc[r] = fma(A[aRow(base.a, r) + k], bv, acc[r]); }
  }
  // Slices of one column are `cols` slots apart: slot = slice·cols + column.
  for (var r = 0u; r < MR; r++) { red[tid * MR + r] = acc[r]; }
  reduceSlots(tid, KS, cols);
  if (slice == 0u && n < p.N) {
    for (var r = 0u; r < MR; r++) {
      if (r < p.M) { C[base.c + r * p.N + n] = red[tid * MR + r]; }
    }
  }
}
