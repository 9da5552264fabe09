;; reduce.wat — sums and maxima of float32 along one axis, the CPU backend's `reduce` primitive.
;;
;;   sum_rows(x, rs, out, rows, n)           out[r] = Σ_j x[r·rs + j]            (reduce the last axis)
;;   max_rows(x, rs, out, rows, n, neg)      out[r] = max_j x[r·rs + j] (neg = 1: min, via −max(−x))
;;   sum_cols(x, rs, out, rows, n, j0, j1)   out[j] = Σ_r x[r·rs + j], j in [j0, j1) (reduce a leading axis)
;; x's inner stride is 1; rs is the row stride in elements. Sums accumulate in double (as the
;; TypeScript reduce does) and round once; max/min return NaN if any element is NaN. Threads take
;; ranges of rows (sum_rows, max_rows) or of columns (sum_cols), so every output is summed in
;; the same order whatever the thread count.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat
  ;; @include rows.inc.wat

  (func (export "sum_rows") (param $x i32) (param $rs i32) (param $out i32) (param $rows i32) (param $n i32)
    (local $r i32)
    (local.set $rs (i32.shl (local.get $rs) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (f32.store (local.get $out) (f32.demote_f64 (call $row_sum (local.get $x) (local.get $n))))
      (local.set $x (i32.add (local.get $x) (local.get $rs)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  (func (export "max_rows") (param $x i32) (param $rs i32) (param $out i32) (param $rows i32) (param $n i32) (param $neg i32)
    (local $r i32) (local $sign f32)
    (local.set $rs (i32.shl (local.get $rs) (i32.const 2)))
    (local.set $sign (select (f32.const -1) (f32.const 1) (local.get $neg)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (f32.store (local.get $out) (f32.mul (local.get $sign) (call $signed_max (local.get $x) (local.get $n) (local.get $sign))))
      (local.set $x (i32.add (local.get $x) (local.get $rs)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; max of sign·x over the row (sign = −1 gives −min); NaN if any element is NaN.
  (func $signed_max (param $p i32) (param $n i32) (param $sign f32) (result f32)
    (local $left i32) (local $m v128) (local $nan v128) (local $v v128) (local $s v128) (local $r f32)
    (local.set $s (f32x4.splat (local.get $sign)))
    (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $v (f32x4.mul (v128.load (local.get $p)) (local.get $s)))
      ;; lanes past the row end: −∞ (after the sign, so they never win)
      (if (i32.lt_s (local.get $left) (i32.const 4)) (then
        (local.set $v (v128.bitselect (local.get $v) (v128.const f32x4 -inf -inf -inf -inf)
          (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $left)))))))
      (local.set $m (f32x4.pmax (local.get $m) (local.get $v)))
      (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $v (f32x4.mul (call $load_part (local.get $p) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $s)))
      ;; lanes past the row end: −∞ (after the sign, so they never win)
      (if (i32.lt_s (local.get $left) (i32.const 4)) (then
        (local.set $v (v128.bitselect (local.get $v) (v128.const f32x4 -inf -inf -inf -inf)
          (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $left)))))))
      (local.set $m (f32x4.pmax (local.get $m) (local.get $v)))
      (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
    (if (v128.any_true (local.get $nan)) (then (return (f32.const nan))))
    (local.set $r (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m))))
    (f32.max (local.get $r) (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))

  (func (export "sum_cols") (param $x i32) (param $rs i32) (param $out i32) (param $rows i32) (param $n i32) (param $j0 i32) (param $j1 i32)
    (local $j i32) (local $r i32) (local $p i32) (local $left i32) (local $lanes v128) (local $a v128) (local $b v128) (local $v v128)
    (local.set $rs (i32.shl (local.get $rs) (i32.const 2)))
    (local.set $j (local.get $j0))
    (block $done (loop $cols
      (br_if $done (i32.ge_s (local.get $j) (local.get $j1)))
      (local.set $left (i32.sub (local.get $j1) (local.get $j)))
      ;; lanes < left are loaded, the rest take the fill (a whole vector is always readable: heap slack)
      (local.set $lanes (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $left))))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $r (i32.const 0))
      (block $rowsDone (loop $row
        (br_if $rowsDone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $v (v128.bitselect (v128.load (local.get $p)) (v128.const f32x4 0 0 0 0) (local.get $lanes)))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $v))))
        (local.set $p (i32.add (local.get $p) (local.get $rs)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
      (if (i32.ge_s (local.get $left) (i32.const 4)) (then (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $a)) (f32x4.demote_f64x2_zero (local.get $b))))) (else (call $store_part (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $a)) (f32x4.demote_f64x2_zero (local.get $b))) (local.get $left))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $cols))))
)
