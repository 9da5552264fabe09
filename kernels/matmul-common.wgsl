// matmul-common.wgsl — shared prelude of the GPU matmul versions (matmul-tiled.wgsl,
// matmul-gemv.wgsl): packages/webgpu/src/kernels/matmul-tiled.ts and matmul-gemv.ts prepend it.
// The uniform block is matmul.wgsl's (one per version set: packages/webgpu/src/kernels/
// matmul-shape.ts fills it): M, N, K, the inner batch dim, element offsets and two batch strides
// per operand (0 = broadcast); the batch index is workgroup_id.z = b0·batch1 + b1.
// Bindings: 0 A (f32), 1 B (f32, or f16 in the F16B variant: device feature shader-f16), 2 C, 3
// uniforms.

//#if F16B
enable f16;
alias BT = f16;
//#else
alias BT = f32;
//#endif

struct Params {
  M: u32, N: u32, K: u32, batch1: u32,
  aOff: u32, bOff: u32, cOff: u32, _pad0: u32,
  aS0: u32, aS1: u32, bS0: u32, bS1: u32,
  cS0: u32, cS1: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<BT>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Element offsets of batch entry z in A, B and C.
struct Bases { a: u32, b: u32, c: u32 }
fn bases(z: u32) -> Bases {
  let b0 = z / p.batch1;
  let b1 = z % p.batch1;
  return Bases(p.aOff + b0 * p.aS0 + b1 * p.aS1, p.bOff + b0 * p.bS0 + b1 * p.bS1, p.cOff + b0 * p.cS0 + b1 * p.cS1);
}
