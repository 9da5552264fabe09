;; cross-entropy.wat — per-row cross-entropy of logits against int32 targets, forward and
;; backward, float32 (the composite: packages/tensor/src/functional.ts crossEntropyComposite).
;;
;;   ce(x, t, loss, stats, rows, n, ignore)
;;     loss[r] = −((x[t] − m) − ls), m = max, ls = log Σ exp(x − m); 0 where t[r] = ignore.
;;     stats[r] = [m, ls] for the backward pass.
;;   ce_bwd(x, t, stats, g, dx, rows, n, ignore)
;;     dx = g[r]·(exp((x − m) − ls) − onehot(t[r])), a zero row where t[r] = ignore.
;; Targets are checked by the launcher (0 ≤ t < n or t = ignore).
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat
  ;; @include rows.inc.wat

  (func (export "ce") (param $x i32) (param $t i32) (param $loss i32) (param $stats i32) (param $rows i32) (param $n i32) (param $ignore i32)
    (local $r i32) (local $m f32) (local $ls f32) (local $ti i32)
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $m (call $row_max (local.get $x) (local.get $n)))
      (local.set $ls (f32.demote_f64 (call $log (f64.promote_f32 (f32.demote_f64 (call $row_sumexp (local.get $x) (local.get $n) (local.get $m)))))))
      (f32.store (local.get $stats) (local.get $m))
      (f32.store offset=4 (local.get $stats) (local.get $ls))
      (local.set $ti (i32.load (local.get $t)))
      (f32.store (local.get $loss)
        (if (result f32) (i32.eq (local.get $ti) (local.get $ignore))
          (then (f32.const 0))
          (else (f32.neg (f32.sub (f32.sub (f32.load (i32.add (local.get $x) (i32.shl (local.get $ti) (i32.const 2)))) (local.get $m)) (local.get $ls))))))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (local.set $loss (i32.add (local.get $loss) (i32.const 4)))
      (local.set $stats (i32.add (local.get $stats) (i32.const 8)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  (func (export "ce_bwd") (param $x i32) (param $t i32) (param $stats i32) (param $g i32) (param $dx i32) (param $rows i32) (param $n i32) (param $ignore i32)
    (local $r i32) (local $ti i32) (local $left i32) (local $px i32) (local $pd i32) (local $m v128) (local $ls v128) (local $gv v128)
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $ti (i32.load (local.get $t)))
      (local.set $m (v128.load32_splat (local.get $stats)))
      (local.set $ls (v128.load32_splat offset=4 (local.get $stats)))
      (local.set $gv (if (result v128) (i32.eq (local.get $ti) (local.get $ignore)) (then (v128.const f32x4 0 0 0 0)) (else (v128.load32_splat (local.get $g)))))
      (local.set $px (local.get $x))
      (local.set $pd (local.get $dx))
      (local.set $left (local.get $n))
      (block $rowDone (loop $vec
        (br_if $rowDone (i32.lt_s (local.get $left) (i32.const 4)))
        (v128.store (local.get $pd) (f32x4.mul (local.get $gv) (call $vexp (f32x4.sub (f32x4.sub (v128.load (local.get $px)) (local.get $m)) (local.get $ls)))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (call $store_part (local.get $pd) (f32x4.mul (local.get $gv) (call $vexp (f32x4.sub (f32x4.sub (call $load_part (local.get $px) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $m)) (local.get $ls)))) (local.get $left))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      ;; − g at the target (the one-hot term); an ignored row's gradient is all zeros
      (if (i32.ne (local.get $ti) (local.get $ignore)) (then
        (local.set $pd (i32.add (local.get $dx) (i32.shl (local.get $ti) (i32.const 2))))
        (f32.store (local.get $pd) (f32.sub (f32.load (local.get $pd)) (f32x4.extract_lane 0 (local.get $gv))))))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $dx (i32.add (local.get $dx) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (local.set $stats (i32.add (local.get $stats) (i32.const 8)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))
)
