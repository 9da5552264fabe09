// elementwise.wgsl — TEMPLATE for every strided elementwise kernel of the WebGPU backend
// (unary, binary, where, copy/cast, assign, fill). kernels/elementwise.ts fills in the
// placeholders (__NAME__) per op expression and dtype signature; the pipeline cache keys on
// the resulting source, so each (expression, dtypes) pair compiles once.
//
//   out[oOff + Σ_d c_d·sOut[d]] = EXPR(a, b, c)    for every multi-index (c_0 … c_{nd-1})
//   with  a = A[aOff + Σ_d c_d·sA[d]],  b = B[…],  c = C[…]  (0 to 3 inputs)
//
// Layouts: every operand (output included) is an arbitrary strided view: element offset plus
// one u32 stride per dim (0 = broadcast). Shapes are given after dim collapsing (see
// elementwise.ts), row-major, innermost dim LAST. nd ≤ 8 (the host splits leading dims when
// more remain after collapsing). The linear invocation index walks the output in row-major
// order. nd == 1 is the fast path (one multiply per operand, no div/mod).
//
// Types: __TO__ is the output element type, __TA__/__TB__/__TC__ the inputs' (f32 or i32).
// Math is f32 (or i32 for int ops); helpers handle the cases WGSL leaves undefined (log/sqrt of
// negatives, pow of negative bases, NaN propagation of max/min, tanh overflow).
//
// Workgroup size 256; dispatch (gx, gy) with gx ≤ 65535, gy = ceil(groups / gx); `rowThreads`
// = gx·256 so i = gid.x + gid.y·rowThreads. Limits: n ≤ 2^32 − 1 elements, each binding ≤
// maxStorageBufferBindingSize (128 MiB on llvmpipe). The same buffer must not be both an input
// and the output (the host copies the input first).

struct Params {
  n: u32,
  nd: u32,
  rowThreads: u32,
  bits: u32,          // fill value (bit pattern of __TO__)
  off: vec4<u32>,     // element offsets: out, a, b, c
  shape: array<vec4<u32>, 2>,
  sOut: array<vec4<u32>, 2>,
  sA: array<vec4<u32>, 2>,
  sB: array<vec4<u32>, 2>,
  sC: array<vec4<u32>, 2>,
  nanBits: u32,       // 0x7fc00000 (NaN and ∞ come from uniforms: WGSL const-eval rejects them)
  infBits: u32,       // 0x7f800000
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<storage, read_write> OUT: array<__TO__>;
__DECLS__
@group(0) @binding(__UB__) var<uniform> p: Params;

fn nanf() -> f32 { return bitcast<f32>(p.nanBits); }
fn inff() -> f32 { return bitcast<f32>(p.infBits); }
fn isnanf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

__HELPERS__

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.rowThreads;
  if (i >= p.n) { return; }
  var io = p.off.x;
  var ia = p.off.y;
  var ib = p.off.z;
  var ic = p.off.w;
  if (p.nd == 1u) {
    io += i * p.sOut[0].x;
    ia += i * p.sA[0].x;
    ib += i * p.sB[0].x;
    ic += i * p.sC[0].x;
  } else {
    var rem = i;
    for (var d = i32(p.nd) - 1; d >= 0; d--) {
      let q = u32(d) / 4u;
      let r = u32(d) % 4u;
      let size = p.shape[q][r];
      let k = rem % size;
      rem = rem / size;
      io += k * p.sOut[q][r];
      ia += k * p.sA[q][r];
      ib += k * p.sB[q][r];
      ic += k * p.sC[q][r];
    }
  }
__LOADS__
  OUT[io] = __EXPR__;
}
