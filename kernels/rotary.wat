;; rotary.wat — HF rotary position embedding (rotate_half), forward and backward, float32.
;;
;;   rotary(shape, x, cos, sin, out, r0, r1, inverse)
;;     shape: 13 int32 at `shape`: B, H, T, D, then the (b, h, t) element strides of x, cos, sin
;;     (their d stride is 1; broadcast dims have stride 0). Rows (b, h, t) in [r0, r1) of
;;     out [B, H, T, D] (contiguous) get, with halves x1 = x[:D/2], x2 = x[D/2:]:
;;       forward:  out1 = x1·cos1 − x2·sin1,  out2 = x2·cos2 + x1·sin2   (x·cos + rotate_half(x)·sin)
;;       inverse:  out1 = x1·cos1 + x2·sin2,  out2 = x2·cos2 − x1·sin1   (its transpose: the gradient)
;; Strided x covers q/k straight from the [B, T, H, D] projection (transpose(1, 2), not copied);
;; cos/sin are [.., T, D] tables broadcast over b and h. D ≥ 8 (whole vectors per half).
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "rotary") (param $shape i32) (param $x i32) (param $cos i32) (param $sin i32) (param $out i32) (param $r0 i32) (param $r1 i32) (param $inverse i32)
    (local $H i32) (local $T i32) (local $D i32) (local $half i32) (local $row i32) (local $b i32) (local $h i32) (local $t i32)
    (local $px i32) (local $pc i32) (local $ps i32) (local $po i32) (local $j i32) (local $jj i32) (local $hb i32)
    (local $x1 v128) (local $x2 v128) (local $c1 v128) (local $c2 v128) (local $s1 v128) (local $s2 v128)
    (local.set $H (i32.load offset=4 (local.get $shape)))
    (local.set $T (i32.load offset=8 (local.get $shape)))
    (local.set $D (i32.load offset=12 (local.get $shape)))
    (local.set $half (i32.shr_u (local.get $D) (i32.const 1)))
    (local.set $hb (i32.shl (local.get $half) (i32.const 2)))
    (local.set $row (local.get $r0))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $row) (local.get $r1)))
      (local.set $t (i32.rem_u (local.get $row) (local.get $T)))
      (local.set $h (i32.rem_u (i32.div_u (local.get $row) (local.get $T)) (local.get $H)))
      (local.set $b (i32.div_u (local.get $row) (i32.mul (local.get $T) (local.get $H))))
      (local.set $px (call $at (local.get $x) (local.get $shape) (i32.const 16) (local.get $b) (local.get $h) (local.get $t)))
      (local.set $pc (call $at (local.get $cos) (local.get $shape) (i32.const 28) (local.get $b) (local.get $h) (local.get $t)))
      (local.set $ps (call $at (local.get $sin) (local.get $shape) (i32.const 40) (local.get $b) (local.get $h) (local.get $t)))
      (local.set $po (i32.add (local.get $out) (i32.shl (i32.mul (local.get $row) (local.get $D)) (i32.const 2))))
      ;; vectors at j = 0, 4, … along each half; the last one is moved back to end at the half's
      ;; end (overlapping the one before: recomputing an element gives the same value)
      (local.set $j (i32.const 0))
      (block $rowDone (loop $vec
        (br_if $rowDone (i32.ge_s (local.get $j) (local.get $hb)))
        (local.set $jj (select (local.get $j) (i32.sub (local.get $hb) (i32.const 16)) (i32.le_s (i32.add (local.get $j) (i32.const 16)) (local.get $hb))))
        (local.set $x1 (v128.load (i32.add (local.get $px) (local.get $jj))))
        (local.set $x2 (v128.load (i32.add (i32.add (local.get $px) (local.get $hb)) (local.get $jj))))
        (local.set $c1 (v128.load (i32.add (local.get $pc) (local.get $jj))))
        (local.set $c2 (v128.load (i32.add (i32.add (local.get $pc) (local.get $hb)) (local.get $jj))))
        (local.set $s1 (v128.load (i32.add (local.get $ps) (local.get $jj))))
        (local.set $s2 (v128.load (i32.add (i32.add (local.get $ps) (local.get $hb)) (local.get $jj))))
        (if (local.get $inverse)
          (then
            (v128.store (i32.add (local.get $po) (local.get $jj)) (f32x4.add (f32x4.mul (local.get $x1) (local.get $c1)) (f32x4.mul (local.get $x2) (local.get $s2))))
            (v128.store (i32.add (i32.add (local.get $po) (local.get $hb)) (local.get $jj)) (f32x4.sub (f32x4.mul (local.get $x2) (local.get $c2)) (f32x4.mul (local.get $x1) (local.get $s1)))))
          (else
            (v128.store (i32.add (local.get $po) (local.get $jj)) (f32x4.sub (f32x4.mul (local.get $x1) (local.get $c1)) (f32x4.mul (local.get $x2) (local.get $s1))))
            (v128.store (i32.add (i32.add (local.get $po) (local.get $hb)) (local.get $jj)) (f32x4.add (f32x4.mul (local.get $x2) (local.get $c2)) (f32x4.mul (local.get $x1) (local.get $s2))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vec)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $rows))))

  ;; base + 4·(b·s0 + h·s1 + t·s2) with the three strides at shape + off.
  (func $at (param $base i32) (param $shape i32) (param $off i32) (param $b i32) (param $h i32) (param $t i32) (result i32)
    (local.set $shape (i32.add (local.get $shape) (local.get $off)))
    (i32.add (local.get $base) (i32.shl (i32.add (i32.add
      (i32.mul (local.get $b) (i32.load (local.get $shape)))
      (i32.mul (local.get $h) (i32.load offset=4 (local.get $shape))))
      (i32.mul (local.get $t) (i32.load offset=8 (local.get $shape)))) (i32.const 2))))
)
