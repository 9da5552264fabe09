;; rmsnorm.wat — HF LlamaRMSNorm over the last axis, forward and backward, float32.
;;
;;   rmsnorm(x, w, y, rinv, rows, n, eps)
;;     r = 1/√(Σx²/n + eps) (Σ of float32 squares in double, rounded as the composite rounds),
;;     y = w ⊙ (x·r); rinv[row] = r for the backward pass.
;;   rmsnorm_dx(x, w, g, rinv, dx, rows, n)
;;     dx = r·(w⊙g) − x·r³·(Σ w⊙g⊙x)/n
;;   rmsnorm_dw(x, g, rinv, dw, rows, n, j0, j1)
;;     dw[j] = Σ_rows g·x·r for j in [j0, j1) (threads take column ranges, so the sum over rows
;;     runs in the same order for any thread count), accumulated in double.
;; Rows are contiguous, one after another. The composite is packages/tensor/src/functional.ts
;; rmsNormComposite.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat
  ;; @include rows.inc.wat

  (func (export "rmsnorm") (param $x i32) (param $w i32) (param $y i32) (param $rinv i32) (param $rows i32) (param $n i32) (param $eps f32)
    (local $row i32) (local $r f32) (local $vr v128) (local $left i32) (local $o i32)
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_s (local.get $row) (local.get $rows)))
      ;; mean of squares as float32 (sum rounded, then divided), + eps, then 1/√ in double
      (local.set $r (f32.add (f32.div (f32.demote_f64 (call $row_dot (local.get $x) (local.get $x) (local.get $n)))
                                      (f32.convert_i32_s (local.get $n))) (local.get $eps)))
      (local.set $r (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.promote_f32 (local.get $r))))))
      (f32.store (local.get $rinv) (local.get $r))
      (local.set $vr (f32x4.splat (local.get $r)))
      (local.set $o (i32.const 0))
      (local.set $left (local.get $n))
      (block $rowDone (loop $vec
        (br_if $rowDone (i32.lt_s (local.get $left) (i32.const 4)))
        (v128.store (i32.add (local.get $y) (local.get $o)) (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $o)))
                     (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $vr))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (call $store_part (i32.add (local.get $y) (local.get $o)) (f32x4.mul (call $load_part (i32.add (local.get $w) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0))
                     (f32x4.mul (call $load_part (i32.add (local.get $x) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $vr))) (local.get $left))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $y (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $rinv (i32.add (local.get $rinv) (i32.const 4)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $rowLoop))))

  (func (export "rmsnorm_dx") (param $x i32) (param $w i32) (param $g i32) (param $rinv i32) (param $dx i32) (param $rows i32) (param $n i32)
    (local $row i32) (local $left i32) (local $o i32) (local $a v128) (local $b v128) (local $t v128) (local $vr v128) (local $vc v128) (local $r f32)
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_s (local.get $row) (local.get $rows)))
      ;; c = Σ w⊙g⊙x (double), then dx = r·w⊙g − x·(r³·c/n)
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $o (i32.const 0))
      (local.set $left (local.get $n))
      (block $sumDone (loop $vec
        (br_if $sumDone (i32.lt_s (local.get $left) (i32.const 4)))
        (local.set $t (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $o)))
                                            (v128.load (i32.add (local.get $g) (local.get $o))))
                                 (v128.load (i32.add (local.get $x) (local.get $o)))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $t))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $t))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (local.set $t (f32x4.mul (f32x4.mul (call $load_part (i32.add (local.get $w) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0))
                                            (call $load_part (i32.add (local.get $g) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)))
                                 (call $load_part (i32.add (local.get $x) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $t))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $t))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (local.set $r (f32.load (local.get $rinv)))
      (local.set $vr (f32x4.splat (local.get $r)))
      (local.set $vc (f32x4.splat (f32.demote_f64 (f64.div (f64.mul (call $hsum64 (local.get $a) (local.get $b))
        (f64.promote_f32 (f32.mul (f32.mul (local.get $r) (local.get $r)) (local.get $r)))) (f64.convert_i32_s (local.get $n))))))
      (local.set $o (i32.const 0))
      (local.set $left (local.get $n))
      (block $rowDone (loop $vec
        (br_if $rowDone (i32.lt_s (local.get $left) (i32.const 4)))
        (v128.store (i32.add (local.get $dx) (local.get $o)) (f32x4.sub
            (f32x4.mul (local.get $vr) (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $o)))
                                                  (v128.load (i32.add (local.get $g) (local.get $o)))))
            (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $vc))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (call $store_part (i32.add (local.get $dx) (local.get $o)) (f32x4.sub
            (f32x4.mul (local.get $vr) (f32x4.mul (call $load_part (i32.add (local.get $w) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0))
                                                  (call $load_part (i32.add (local.get $g) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0))))
            (f32x4.mul (call $load_part (i32.add (local.get $x) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $vc))) (local.get $left))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $g (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $dx (i32.add (local.get $dx) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $rinv (i32.add (local.get $rinv) (i32.const 4)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $rowLoop))))

  (func (export "rmsnorm_dw") (param $x i32) (param $g i32) (param $rinv i32) (param $dw i32) (param $rows i32) (param $n i32) (param $j0 i32) (param $j1 i32)
    (local $j i32) (local $row i32) (local $o i32) (local $left i32) (local $lanes v128) (local $a v128) (local $b v128) (local $t v128)
    (local.set $j (local.get $j0))
    (block $done (loop $cols
      (br_if $done (i32.ge_s (local.get $j) (local.get $j1)))
      (local.set $left (i32.sub (local.get $j1) (local.get $j)))
      ;; lanes < left are loaded, the rest take the fill (a whole vector is always readable: heap slack)
      (local.set $lanes (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $left))))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $row (i32.const 0))
      (block $rowsDone (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $row) (local.get $rows)))
        (local.set $o (i32.shl (i32.add (i32.mul (local.get $row) (local.get $n)) (local.get $j)) (i32.const 2)))
        (local.set $t (f32x4.mul (f32x4.mul (v128.bitselect (v128.load (i32.add (local.get $g) (local.get $o))) (v128.const f32x4 0 0 0 0) (local.get $lanes))
                                            (v128.bitselect (v128.load (i32.add (local.get $x) (local.get $o))) (v128.const f32x4 0 0 0 0) (local.get $lanes)))
                                 (v128.load32_splat (i32.add (local.get $rinv) (i32.shl (local.get $row) (i32.const 2))))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $t))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $t))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop)))
      (if (i32.ge_s (local.get $left) (i32.const 4)) (then (v128.store (i32.add (local.get $dw) (i32.shl (local.get $j) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $a)) (f32x4.demote_f64x2_zero (local.get $b))))) (else (call $store_part (i32.add (local.get $dw) (i32.shl (local.get $j) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $a)) (f32x4.demote_f64x2_zero (local.get $b))) (local.get $left))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $cols))))
)
