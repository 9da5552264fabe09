  ;; vmem.inc.wat — partial vectors at the end of a row (included by the row kernels).
  ;; A row's last n mod 4 elements go through the same f32x4 arithmetic as the rest, with the
  ;; missing lanes set to `fill` (0 for sums of products, −∞ for maxima and exponentials), so an
  ;; element's result does not depend on where a row or a thread's range ends.

  ;; The `cnt` (1..3) floats at p in lanes 0..cnt−1, `fill` in the others.
  (func $load_part (param $p i32) (param $cnt i32) (param $fill v128) (result v128)
    (local $v v128)
    (local.set $v (f32x4.replace_lane 0 (local.get $fill) (f32.load (local.get $p))))
    (if (i32.gt_s (local.get $cnt) (i32.const 1)) (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $p))))))
    (if (i32.gt_s (local.get $cnt) (i32.const 2)) (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $p))))))
    (local.get $v))

  ;; Stores lanes 0..cnt−1 (cnt in 1..3) of v at p.
  (func $store_part (param $p i32) (param $v v128) (param $cnt i32)
    (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $v)))
    (if (i32.gt_s (local.get $cnt) (i32.const 1)) (then (f32.store offset=4 (local.get $p) (f32x4.extract_lane 1 (local.get $v)))))
    (if (i32.gt_s (local.get $cnt) (i32.const 2)) (then (f32.store offset=8 (local.get $p) (f32x4.extract_lane 2 (local.get $v))))))

  ;; 4 floats at p, or the `left` (< 4) that remain with `fill` lanes.
  (func $load4 (param $p i32) (param $left i32) (param $fill v128) (result v128)
    (if (result v128) (i32.ge_s (local.get $left) (i32.const 4))
      (then (v128.load (local.get $p)))
      (else (call $load_part (local.get $p) (local.get $left) (local.get $fill)))))

  (func $store4 (param $p i32) (param $v v128) (param $left i32)
    (if (i32.ge_s (local.get $left) (i32.const 4))
      (then (v128.store (local.get $p) (local.get $v)))
      (else (call $store_part (local.get $p) (local.get $v) (local.get $left)))))

  ;; Σ of an f64x2 pair of accumulators: (a0 + a1) + (b0 + b1).
  (func $hsum64 (param $a v128) (param $b v128) (result f64)
    (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a)))
             (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))

  ;; Lanes 0, 1 and 2, 3 of an f32x4 as f64x2 (for double accumulation).
  (func $lo64 (param $v v128) (result v128) (f64x2.promote_low_f32x4 (local.get $v)))
  (func $hi64 (param $v v128) (result v128)
    (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
