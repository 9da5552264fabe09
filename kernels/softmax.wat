;; softmax.wat — softmax and logSoftmax over the last axis, forward and backward, float32.
;;
;;   softmax(x, y, rows, n)            y = exp(x − m) / Σ exp(x − m), m = max (0 if the row is all −∞)
;;   softmax_bwd(y, g, dx, rows, n)    dx = y ⊙ (g − Σ g⊙y)
;;   log_softmax(x, y, rows, n)        y = (x − m) − log Σ exp(x − m)
;;   log_softmax_bwd(y, g, dx, rows, n) dx = g − exp(y) · Σ g
;; Rows are n contiguous floats, one after another (the launcher makes them so); a thread gets a
;; range of rows. Sums are accumulated in double and rounded to float32 where the composite
;; (packages/tensor/src/functional.ts, the definition) rounds them, so results match it to an ulp
;; or two of exp. An all −∞ row gives zeros from softmax (as the composite) and NaN from
;; logSoftmax (as the composite: −∞ − (−∞)).
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat
  ;; @include rows.inc.wat

  ;; y[i] = f(x[i]) for the row; f is x ↦ exp(x − a) (exp = 1) or x ↦ (x − a) − b (exp = 0).
  (func $map_row (param $x i32) (param $y i32) (param $n i32) (param $a f32) (param $b f32) (param $exp i32)
    (local $left i32) (local $va v128) (local $vb v128) (local $v v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $v (f32x4.sub (v128.load (local.get $x)) (local.get $va)))
      (local.set $v (if (result v128) (local.get $exp) (then (call $vexp (local.get $v))) (else (f32x4.sub (local.get $v) (local.get $vb)))))
      (v128.store (local.get $y) (local.get $v))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $v (f32x4.sub (call $load_part (local.get $x) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $va)))
      (local.set $v (if (result v128) (local.get $exp) (then (call $vexp (local.get $v))) (else (f32x4.sub (local.get $v) (local.get $vb)))))
      (call $store_part (local.get $y) (local.get $v) (local.get $left))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))

  (func (export "softmax") (param $x i32) (param $y i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $m f32) (local $s f32) (local $p i32) (local $left i32) (local $vs v128)
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $m (call $row_max (local.get $x) (local.get $n)))
      (if (f32.eq (local.get $m) (f32.const -inf)) (then (local.set $m (f32.const 0))))
      (call $map_row (local.get $x) (local.get $y) (local.get $n) (local.get $m) (f32.const 0) (i32.const 1))
      (local.set $s (f32.demote_f64 (call $row_sum (local.get $y) (local.get $n))))
      (if (f32.eq (local.get $s) (f32.const 0)) (then (local.set $s (f32.const 1))))
      (local.set $vs (f32x4.splat (local.get $s)))
      (local.set $p (local.get $y))
      (local.set $left (local.get $n))
      (block $scaled (loop $vec
        (br_if $scaled (i32.lt_s (local.get $left) (i32.const 4)))
        (v128.store (local.get $p) (f32x4.div (v128.load (local.get $p)) (local.get $vs)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (call $store_part (local.get $p) (f32x4.div (call $load_part (local.get $p) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $vs)) (local.get $left))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $y (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  (func (export "log_softmax") (param $x i32) (param $y i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $m f32) (local $ls f32)
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $m (call $row_max (local.get $x) (local.get $n)))
      (local.set $ls (f32.demote_f64 (call $log (f64.promote_f32 (f32.demote_f64 (call $row_sumexp (local.get $x) (local.get $n) (local.get $m)))))))
      (call $map_row (local.get $x) (local.get $y) (local.get $n) (local.get $m) (local.get $ls) (i32.const 0))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $y (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; dx = y ⊙ (g − s) (log = 0) or g − exp(y)·s (log = 1), for the row.
  (func $bwd_row (param $y i32) (param $g i32) (param $dx i32) (param $n i32) (param $s f32) (param $log i32)
    (local $left i32) (local $vs v128) (local $vy v128) (local $vg v128)
    (local.set $vs (f32x4.splat (local.get $s)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $vy (v128.load (local.get $y)))
      (local.set $vg (v128.load (local.get $g)))
      (v128.store (local.get $dx) (if (result v128) (local.get $log)
          (then (f32x4.sub (local.get $vg) (f32x4.mul (call $vexp (local.get $vy)) (local.get $vs))))
          (else (f32x4.mul (local.get $vy) (f32x4.sub (local.get $vg) (local.get $vs))))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $vy (call $load_part (local.get $y) (local.get $left) (v128.const f32x4 0 0 0 0)))
      (local.set $vg (call $load_part (local.get $g) (local.get $left) (v128.const f32x4 0 0 0 0)))
      (call $store_part (local.get $dx) (if (result v128) (local.get $log)
          (then (f32x4.sub (local.get $vg) (f32x4.mul (call $vexp (local.get $vy)) (local.get $vs))))
          (else (f32x4.mul (local.get $vy) (f32x4.sub (local.get $vg) (local.get $vs))))) (local.get $left))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))

  (func (export "softmax_bwd") (param $y i32) (param $g i32) (param $dx i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (call $bwd_row (local.get $y) (local.get $g) (local.get $dx) (local.get $n)
        (f32.demote_f64 (call $row_dot (local.get $g) (local.get $y) (local.get $n))) (i32.const 0))
      (local.set $y (i32.add (local.get $y) (local.get $bytes)))
      (local.set $g (i32.add (local.get $g) (local.get $bytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  (func (export "log_softmax_bwd") (param $y i32) (param $g i32) (param $dx i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (call $bwd_row (local.get $y) (local.get $g) (local.get $dx) (local.get $n)
        (f32.demote_f64 (call $row_sum (local.get $g) (local.get $n))) (i32.const 1))
      (local.set $y (i32.add (local.get $y) (local.get $bytes)))
      (local.set $g (i32.add (local.get $g) (local.get $bytes)))
      (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))
)
