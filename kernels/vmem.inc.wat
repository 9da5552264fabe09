  ;; vmem.inc.wat — partial vectors at the end of a row (included by the row kernels).
  ;; A row's last n mod 4 elements go through the same f32x4 arithmetic as the rest, with the
  ;; missing lanes set to `fill` (0 for sums of products, −∞ for maxima and exponentials), so an
  ;; element's result does not depend on where a row or a thread's range ends. The loops branch
  ;; to these only for that last vector:
  ;;   (if (result v128) (i32.ge_s left 4) (then (v128.load p)) (else (call $load_part p left fill)))
  ;; A call inside the vector loop itself would cost more than the arithmetic: V8 keeps no xmm
  ;; register across a call, so every live vector is spilled and reloaded around it (a helper
  ;; call per load made attention 0.14 GFLOP/s).

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

  ;; Σ of an f64x2 pair of accumulators: (a0 + a1) + (b0 + b1).
  (func $hsum64 (param $a v128) (param $b v128) (result f64)
    (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a)))
             (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))

  ;; Lanes 0, 1 and 2, 3 of an f32x4 as f64x2 (for double accumulation).
  (func $lo64 (param $v v128) (result v128) (f64x2.promote_low_f32x4 (local.get $v)))
  (func $hi64 (param $v v128) (result v128)
    (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))

  ;; Σ of each accumulator's 4 lanes, as one vector [Σa0, Σa1, Σa2, Σa3]; lane sums are
  ;; (l0 + l2) + (l1 + l3) for every row.
  (func $hsum4 (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (result v128)
    (local $t0 v128) (local $t1 v128)
    ;; t0 = [a0.l0+a0.l2, a1.l0+a1.l2, a0.l1+a0.l3, a1.l1+a1.l3]
    (local.set $t0 (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
    (local.set $t1 (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))

