  ;; rows.inc.wat — per-row reductions shared by the softmax-family kernels (softmax, kl,
  ;; cross-entropy); needs vmath.inc.wat and vmem.inc.wat. A row is n contiguous floats at p.

  ;; max of the row; NaN if any element is NaN (as the TypeScript reduce); −∞ for an all −∞ row.
  (func $row_max (param $p i32) (param $n i32) (result f32)
    (local $end i32) (local $m v128) (local $nan v128) (local $v v128) (local $r f32)
    (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $vec
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $v (v128.load (local.get $p)))
      (local.set $m (f32x4.pmax (local.get $m) (local.get $v)))
      (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $vec)))
    (if (i32.and (local.get $n) (i32.const 3)) (then
      (local.set $v (call $load_part (local.get $p) (i32.and (local.get $n) (i32.const 3)) (v128.const f32x4 -inf -inf -inf -inf)))
      (local.set $m (f32x4.pmax (local.get $m) (local.get $v)))
      (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))))
    (if (v128.any_true (local.get $nan)) (then (return (f32.const nan))))
    (local.set $r (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m))))
    (f32.max (local.get $r) (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))

  ;; Σ exp(x − shift) over the row, accumulated in double.
  (func $row_sumexp (param $p i32) (param $n i32) (param $shift f32) (result f64)
    (local $end i32) (local $s v128) (local $a v128) (local $b v128) (local $e v128)
    (local.set $s (f32x4.splat (local.get $shift)))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $vec
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $e (call $vexp (f32x4.sub (v128.load (local.get $p)) (local.get $s))))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $e))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $vec)))
    (if (i32.and (local.get $n) (i32.const 3)) (then
      (local.set $e (call $vexp (f32x4.sub (call $load_part (local.get $p) (i32.and (local.get $n) (i32.const 3)) (v128.const f32x4 -inf -inf -inf -inf)) (local.get $s))))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $e))))))
    (call $hsum64 (local.get $a) (local.get $b)))

  ;; Σ x·y over two rows, in double.
  (func $row_dot (param $x i32) (param $y i32) (param $n i32) (result f64)
    (local $end i32) (local $a v128) (local $b v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $vec
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (f32x4.mul (v128.load (local.get $x)) (v128.load (local.get $y))))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $v))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $vec)))
    (if (i32.and (local.get $n) (i32.const 3)) (then
      (local.set $v (f32x4.mul (call $load_part (local.get $x) (i32.and (local.get $n) (i32.const 3)) (v128.const f32x4 0 0 0 0))
                               (call $load_part (local.get $y) (i32.and (local.get $n) (i32.const 3)) (v128.const f32x4 0 0 0 0))))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $v))))))
    (call $hsum64 (local.get $a) (local.get $b)))

  ;; Σ x over the row, in double.
  (func $row_sum (param $x i32) (param $n i32) (result f64)
    (local $end i32) (local $a v128) (local $b v128) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $vec
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $v))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $vec)))
    (if (i32.and (local.get $n) (i32.const 3)) (then
      (local.set $v (call $load_part (local.get $x) (i32.and (local.get $n) (i32.const 3)) (v128.const f32x4 0 0 0 0)))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $v))))))
    (call $hsum64 (local.get $a) (local.get $b)))
