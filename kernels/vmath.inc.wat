  ;; vmath.inc.wat — exp and log on f32x4, included by the kernels that need them
  ;; (kernels/build-wasm.mjs replaces `;; @include vmath.inc.wat` with this text).
  ;;
  ;; Cephes' expf/logf polynomials (≤ 2 ulp on their range): WebAssembly has no transcendental
  ;; instructions, and calling Math.exp per element would cost ~40× more than the arithmetic.
  ;; NaN stays NaN; ±∞ and overflow give what Math.exp / Math.log give.

  (func $vexp (param $x v128) (result v128)
    (local $xc v128) (local $n v128) (local $r v128) (local $p v128) (local $k v128) (local $k1 v128)
    ;; pmin/pmax keep a NaN x (it is their first operand); below −103.98 exp rounds to 0
    (local.set $xc (f32x4.pmax (f32x4.pmin (local.get $x) (v128.const f32x4 88.72284 88.72284 88.72284 88.72284))
                               (v128.const f32x4 -103.98 -103.98 -103.98 -103.98)))
    ;; x = n·ln2 + r, |r| ≤ ln2/2 (n ≤ 127 so 2^n stays finite; then r ≤ ln2 near the top)
    (local.set $n (f32x4.pmin (f32x4.nearest (f32x4.mul (local.get $xc) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504)))
                              (v128.const f32x4 127 127 127 127)))
    (local.set $r (f32x4.sub (local.get $xc) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.add (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4))))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $r)) (local.get $r)) (local.get $r))
                             (v128.const f32x4 1 1 1 1)))
    ;; · 2^n as 2^k1 · 2^(n − k1), k1 = n >> 1: both factors are normal floats for n in [−150, 127]
    ;; (results below 2^−126 come out as denormals from the last multiply)
    (local.set $k (i32x4.trunc_sat_f32x4_s (local.get $n)))
    (local.set $k1 (i32x4.shr_s (local.get $k) (i32.const 1)))
    (local.set $p (f32x4.mul (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (local.get $k1) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $k) (local.get $k1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $p (v128.bitselect (v128.const f32x4 inf inf inf inf) (local.get $p)
      (f32x4.gt (local.get $x) (v128.const f32x4 88.72284 88.72284 88.72284 88.72284))))
    (v128.andnot (local.get $p) (f32x4.lt (local.get $x) (v128.const f32x4 -103.98 -103.98 -103.98 -103.98))))

  (func $vlog (param $x v128) (result v128)
    (local $small v128) (local $xs v128) (local $e v128) (local $m v128) (local $lt v128) (local $z v128) (local $y v128)
    ;; denormals: scale into the normal range first
    (local.set $small (f32x4.lt (local.get $x) (v128.const f32x4 1.17549435e-38 1.17549435e-38 1.17549435e-38 1.17549435e-38)))
    (local.set $xs (v128.bitselect (f32x4.mul (local.get $x) (v128.const f32x4 8388608 8388608 8388608 8388608)) (local.get $x) (local.get $small)))
    ;; x = m·2^e with m in [0.5, 1)
    (local.set $e (f32x4.convert_i32x4_s (i32x4.sub (i32x4.shr_u (local.get $xs) (i32.const 23)) (v128.const i32x4 126 126 126 126))))
    (local.set $e (f32x4.sub (local.get $e) (v128.and (local.get $small) (v128.const f32x4 23 23 23 23))))
    (local.set $m (v128.or (v128.and (local.get $xs) (v128.const i32x4 0x007fffff 0x007fffff 0x007fffff 0x007fffff))
                           (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000)))
    ;; m < √½: m ← 2m − 1, e ← e − 1; else m ← m − 1
    (local.set $lt (f32x4.lt (local.get $m) (v128.const f32x4 0.707106781 0.707106781 0.707106781 0.707106781)))
    (local.set $e (f32x4.sub (local.get $e) (v128.and (local.get $lt) (v128.const f32x4 1 1 1 1))))
    (local.set $m (f32x4.sub (f32x4.add (local.get $m) (v128.and (local.get $lt) (local.get $m))) (v128.const f32x4 1 1 1 1)))
    (local.set $z (f32x4.mul (local.get $m) (local.get $m)))
    (local.set $y (v128.const f32x4 7.0376836292e-2 7.0376836292e-2 7.0376836292e-2 7.0376836292e-2))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 -1.1514610310e-1 -1.1514610310e-1 -1.1514610310e-1 -1.1514610310e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 1.1676998740e-1 1.1676998740e-1 1.1676998740e-1 1.1676998740e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 -1.2420140846e-1 -1.2420140846e-1 -1.2420140846e-1 -1.2420140846e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 1.4249322787e-1 1.4249322787e-1 1.4249322787e-1 1.4249322787e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 -1.6668057665e-1 -1.6668057665e-1 -1.6668057665e-1 -1.6668057665e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 2.0000714765e-1 2.0000714765e-1 2.0000714765e-1 2.0000714765e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 -2.4999993993e-1 -2.4999993993e-1 -2.4999993993e-1 -2.4999993993e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (v128.const f32x4 3.3333331174e-1 3.3333331174e-1 3.3333331174e-1 3.3333331174e-1)))
    (local.set $y (f32x4.mul (f32x4.mul (local.get $y) (local.get $m)) (local.get $z)))
    (local.set $y (f32x4.add (local.get $y) (f32x4.mul (local.get $e) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $y (f32x4.sub (local.get $y) (f32x4.mul (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5))))
    (local.set $y (f32x4.add (f32x4.add (local.get $m) (local.get $y)) (f32x4.mul (local.get $e) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    ;; log 0 = −∞, log(x < 0) = NaN, log ∞ = ∞, NaN stays NaN
    (local.set $y (v128.bitselect (v128.const f32x4 -inf -inf -inf -inf) (local.get $y) (f32x4.eq (local.get $x) (v128.const f32x4 0 0 0 0))))
    (local.set $y (v128.bitselect (v128.const f32x4 nan nan nan nan) (local.get $y) (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0))))
    (local.set $y (v128.bitselect (local.get $x) (local.get $y) (f32x4.eq (local.get $x) (v128.const f32x4 inf inf inf inf))))
    (v128.bitselect (local.get $x) (local.get $y) (f32x4.ne (local.get $x) (local.get $x))))
