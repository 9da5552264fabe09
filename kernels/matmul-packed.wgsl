// matmul-packed.wgsl — f32 C = A·B or A·Bᵀ with A read through uniform-buffer windows (matmul
// version 2: the llvmpipe path for large shapes; real GPUs use matmul-tiled.wgsl).
//
// Why: Mesa llvmpipe (22.3) turns every storage-buffer load into a per-lane scalar loop with a
// bounds check and a branch per component, but a uniform-buffer load whose offset is the same in
// all lanes becomes one scalar load and a broadcast. In matmul.wgsl all lanes of a workgroup load
// the same A values (they differ only in columns), i.e. half of all loads are such uniform loads
// done the slow way. Here A comes from a `var<uniform>` window instead (numbers:
// bench/results/llvmpipe-tuning.md and matmul.md).
//
// A uniform binding is at most 64 KiB, so A is first repacked (entry `pack_a`) into blocks of
// 16 rows × KC columns (KC = min(K, 1024); row r of a block at r·KC, 64·KC bytes per block), one
// block per (batch entry, 16-row block, K chunk) in that order. Then one `main_packed_nn` /
// `main_packed_nt` dispatch per block binds it as the window and computes C[16 rows, all N] for
// that K chunk; later chunks start from the partial sums in C (a fixed order: deterministic).
//
// With one K chunk (K ≤ 1024) and 256-byte-aligned row blocks, A's own buffer already holds the
// windows (16 consecutive rows) and the pack pass is skipped: each window is bound at its rows
// (moved back to end at the buffer's end when needed; `aIdx` then says where row 0 starts).
//
// Layouts: A [M,K] and C [M,N] row-major per batch entry; B [K,N] (main_packed_nn) or [N,K]
// (main_packed_nt) row-major. Requires K % 4 == 0, N % 4 == 0 and offsets/strides % 4 == 0 (the
// vec4 path); rows of the last block beyond M are copies of row M-1 and are not stored.
// Tile: one invocation computes 16 rows × 16 columns (16 × 4 vec4 accumulators); the WG_X
// invocations take interleaved vec4 column groups, so a workgroup covers 16 × 16·WG_X and a
// dispatch is (1, ceil(N / (16·WG_X)), 1) workgroups.
// Limits: packed A ≤ maxStorageBufferBindingSize; the window binding is always 64 KiB, so the
// packed buffer carries 64 KiB of tail padding.

struct PackParams {
  M: u32, K: u32, KC: u32, blocksM: u32,   // blocksM = ceil(M / 16)
  chunks: u32, batch1: u32, aOff: u32, _p0: u32,
  aS0: u32, aS1: u32, total: u32, _p1: u32,  // total = vec4s per batch entry in the packed buffer
}

struct Params {
  N: u32, K: u32, KC: u32, kLen: u32,      // kLen: columns of A in this chunk (≤ KC)
  k0: u32, row0: u32, rows: u32, accumulate: u32,
  bOff: u32, cOff: u32, aIdx: u32, _p1: u32,  // aIdx: vec4 index of row 0 in the window
}

override WG_X: u32 = 16u;

const TM: u32 = 16u;
const TN4: u32 = 4u;

@group(0) @binding(0) var<storage, read> PA4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> PO4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> pp: PackParams;

// One invocation per packed vec4; workgroups (x, y) cover one batch entry, z = batch index.
@compute @workgroup_size(64, 1, 1)
fn pack_a(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(workgroup_id) wid: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= pp.total) { return; }
  let KC4 = pp.KC / 4u;
  let blockVec4 = TM * KC4;
  let blk = i / blockVec4;            // (row block, chunk) in row-block-major order
  let inBlk = i % blockVec4;
  let r = inBlk / KC4;
  let k4 = (blk % pp.chunks) * KC4 + inBlk % KC4;
  if (k4 >= pp.K / 4u) { return; }    // the last chunk may be narrower than KC
  let row = min((blk / pp.chunks) * TM + r, pp.M - 1u);
  let b0 = wid.z / pp.batch1;
  let b1 = wid.z % pp.batch1;
  let src = (pp.aOff + b0 * pp.aS0 + b1 * pp.aS1) / 4u + row * (pp.K / 4u) + k4;
  PO4[wid.z * pp.total + i] = PA4[src];
}

@group(0) @binding(0) var<uniform> Aw: array<vec4<f32>, 4096>;  // one 64 KiB window = one block
@group(0) @binding(1) var<storage, read> B4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

// C = A·B, B [K,N]: one vec4 = 4 consecutive columns of one k.
@compute @workgroup_size(WG_X, 1, 1)
fn main_packed_nn(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  let KC4 = p.KC / 4u;
  let kLen4 = p.kLen / 4u;
  let bBase = p.bOff / 4u;
  let cBase = p.cOff / 4u;
  let col40 = wid.y * (TN4 * WG_X) + lid.x;
  // Later K chunks start from the partial sums already in C (read once, before the loop: a
  // read-modify-write at the store made llvmpipe's code much slower).
  var acc: array<vec4<f32>, 64>;  // TM * TN4
  if (p.accumulate != 0u) {
    for (var r = 0u; r < TM; r++) {
      for (var c = 0u; c < TN4; c++) {
        acc[r * TN4 + c] = C4[cBase + (p.row0 + min(r, p.rows - 1u)) * N4 + min(col40 + c * WG_X, N4 - 1u)];
      }
    }
  }
  var aRow: array<u32, TM>;
  // Rows past M are clamped: in an unpacked window they may lie beyond the binding.
  for (var r = 0u; r < TM; r++) { aRow[r] = p.aIdx + min(r, p.rows - 1u) * KC4; }
  var bCol: array<u32, TN4>;
  for (var c = 0u; c < TN4; c++) { bCol[c] = bBase + min(col40 + c * WG_X, N4 - 1u) + p.k0 * N4; }
  for (var k4 = 0u; k4 < kLen4; k4++) {
    var a: array<vec4<f32>, TM>;
    for (var r = 0u; r < TM; r++) { a[r] = Aw[aRow[r] + k4]; }  // same offset in every lane
    for (var kk = 0u; kk < 4u; kk++) {
      let kRow = (k4 * 4u + kk) * N4;
      var b: array<vec4<f32>, TN4>;
      for (var c = 0u; c < TN4; c++) { b[c] = B4[bCol[c] + kRow]; }
      for (var r = 0u; r < TM; r++) {
        for (var c = 0u; c < TN4; c++) {
          acc[r * TN4 + c] = fma(vec4<f32>(a[r][kk]), b[c], acc[r * TN4 + c]);
        }
      }
    }
  }
  for (var r = 0u; r < TM; r++) {
    if (r < p.rows) {
      for (var c = 0u; c < TN4; c++) {
        let col4 = col40 + c * WG_X;
        if (col4 < N4) { C4[cBase + (p.row0 + r) * N4 + col4] = acc[r * TN4 + c]; }
      }
    }
  }
}

// C = A·Bᵀ, B [N,K]: 4×4 blocks of B transposed in registers, as in matmul.wgsl.
@compute @workgroup_size(WG_X, 1, 1)
fn main_packed_nt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  let KC4 = p.KC / 4u;
  let kLen4 = p.kLen / 4u;
  let bBase = p.bOff / 4u;
  let cBase = p.cOff / 4u;
  let col40 = wid.y * (TN4 * WG_X) + lid.x;
  // Later K chunks start from the partial sums already in C (read once, before the loop: a
  // read-modify-write at the store made llvmpipe's code much slower).
  var acc: array<vec4<f32>, 64>;  // TM * TN4
  if (p.accumulate != 0u) {
    for (var r = 0u; r < TM; r++) {
      for (var c = 0u; c < TN4; c++) {
        acc[r * TN4 + c] = C4[cBase + (p.row0 + min(r, p.rows - 1u)) * N4 + min(col40 + c * WG_X, N4 - 1u)];
      }
    }
  }
  var aRow: array<u32, TM>;
  // Rows past M are clamped: in an unpacked window they may lie beyond the binding.
  for (var r = 0u; r < TM; r++) { aRow[r] = p.aIdx + min(r, p.rows - 1u) * KC4; }
  var bRow: array<u32, 16>;
  for (var j = 0u; j < 16u; j++) {
    bRow[j] = bBase + min((col40 + (j / 4u) * WG_X) * 4u + (j % 4u), p.N - 1u) * K4 + p.k0 / 4u;
  }
  for (var k4 = 0u; k4 < kLen4; k4++) {
    var a: array<vec4<f32>, TM>;
    for (var r = 0u; r < TM; r++) { a[r] = Aw[aRow[r] + k4]; }  // same offset in every lane
    var t: array<vec4<f32>, 16>;
    for (var c = 0u; c < TN4; c++) {
      let q0 = B4[bRow[c * 4u] + k4];
      let q1 = B4[bRow[c * 4u + 1u] + k4];
      let q2 = B4[bRow[c * 4u + 2u] + k4];
      let q3 = B4[bRow[c * 4u + 3u] + k4];
      t[c * 4u] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
      t[c * 4u + 1u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
      t[c * 4u + 2u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
      t[c * 4u + 3u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
    }
    for (var r = 0u; r < TM; r++) {
      let av = a[r];
      for (var c = 0u; c < TN4; c++) {
        var s = acc[r * TN4 + c];
        s = fma(vec4<f32>(av.x), t[c * 4u], s);
        s = fma(vec4<f32>(av.y), t[c * 4u + 1u], s);
        s = fma(vec4<f32>(av.z), t[c * 4u + 2u], s);
        s = fma(vec4<f32>(av.w), t[c * 4u + 3u], s);
        acc[r * TN4 + c] = s;
      }
    }
  }
  for (var r = 0u; r < TM; r++) {
    if (r < p.rows) {
      for (var c = 0u; c < TN4; c++) {
        let col4 = col40 + c * WG_X;
        if (col4 < N4) { C4[cBase + (p.row0 + r) * N4 + col4] = acc[r * TN4 + c]; }
      }
    }
  }
}
