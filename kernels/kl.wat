;; kl.wat — KL(softmax p ‖ softmax q) per row over the last axis (the KTS loss over the
;; vocabulary), forward and backward, float32.
;;
;;   kl(p, q, out, stats, rows, n)
;;     out[r] = Σ P (logP − logQ), logP = (p − m_p) − ls_p, ls_p = log Σ exp(p − m_p) (same for q);
;;     stats[r] = [m_p, ls_p, m_q, ls_q] for the backward pass.
;;   kl_bwd(p, q, stats, out, g, dp, dq, rows, n)
;;     dp = g·P ⊙ ((logP − logQ) − out[r]),  dq = g·(Q − P)   (dp or dq = 0: not computed)
;; Four passes over each row (max and Σexp of both, then the sum) read it from L2 (a 32 000-wide
;; row is 125 KiB); sums accumulate in double. logP, logQ are formed with the same float32
;; operations as the composite (packages/tensor/src/attention.ts klDivLogitsComposite), so the
;; results agree to exp's ulps; NaN and ±∞ propagate as there.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat
  ;; @include rows.inc.wat

  ;; log Σ exp(x − m), rounded as the composite rounds it (sum to f32, log to f32).
  (func $ls (param $x i32) (param $n i32) (param $m f32) (result f32)
    (f32.demote_f64 (call $log (f64.promote_f32 (f32.demote_f64 (call $row_sumexp (local.get $x) (local.get $n) (local.get $m)))))))

  (func (export "kl") (param $p i32) (param $q i32) (param $out i32) (param $stats i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $bytes i32) (local $mp f32) (local $lsp f32) (local $mq f32) (local $lsq f32)
    (local $left i32) (local $pp i32) (local $pq i32) (local $lp v128) (local $lq v128) (local $t v128) (local $a v128) (local $b v128)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $mp (call $row_max (local.get $p) (local.get $n)))
      (local.set $lsp (call $ls (local.get $p) (local.get $n) (local.get $mp)))
      (local.set $mq (call $row_max (local.get $q) (local.get $n)))
      (local.set $lsq (call $ls (local.get $q) (local.get $n) (local.get $mq)))
      (f32.store (local.get $stats) (local.get $mp))
      (f32.store offset=4 (local.get $stats) (local.get $lsp))
      (f32.store offset=8 (local.get $stats) (local.get $mq))
      (f32.store offset=12 (local.get $stats) (local.get $lsq))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $pp (local.get $p))
      (local.set $pq (local.get $q))
      (local.set $left (local.get $n))
      (block $sumDone (loop $vec
        (br_if $sumDone (i32.lt_s (local.get $left) (i32.const 4)))
        (local.set $lp (f32x4.sub (f32x4.sub (v128.load (local.get $pp)) (f32x4.splat (local.get $mp))) (f32x4.splat (local.get $lsp))))
        (local.set $lq (f32x4.sub (f32x4.sub (v128.load (local.get $pq)) (f32x4.splat (local.get $mq))) (f32x4.splat (local.get $lsq))))
        (local.set $t (f32x4.mul (call $vexp (local.get $lp)) (f32x4.sub (local.get $lp) (local.get $lq))))
        ;; lanes past the row end hold garbage: zero them before summing
        (if (i32.lt_s (local.get $left) (i32.const 4))
          (then (local.set $t (call $keep (local.get $t) (local.get $left)))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $t))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $t))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pq (i32.add (local.get $pq) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (local.set $lp (f32x4.sub (f32x4.sub (call $load_part (local.get $pp) (local.get $left) (v128.const f32x4 0 0 0 0)) (f32x4.splat (local.get $mp))) (f32x4.splat (local.get $lsp))))
        (local.set $lq (f32x4.sub (f32x4.sub (call $load_part (local.get $pq) (local.get $left) (v128.const f32x4 0 0 0 0)) (f32x4.splat (local.get $mq))) (f32x4.splat (local.get $lsq))))
        (local.set $t (f32x4.mul (call $vexp (local.get $lp)) (f32x4.sub (local.get $lp) (local.get $lq))))
        ;; lanes past the row end hold garbage: zero them before summing
        (if (i32.lt_s (local.get $left) (i32.const 4))
          (then (local.set $t (call $keep (local.get $t) (local.get $left)))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $t))))
        (local.set $b (f64x2.add (local.get $b) (call $hi64 (local.get $t))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pq (i32.add (local.get $pq) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (f32.store (local.get $out) (f32.demote_f64 (call $hsum64 (local.get $a) (local.get $b))))
      (local.set $p (i32.add (local.get $p) (local.get $bytes)))
      (local.set $q (i32.add (local.get $q) (local.get $bytes)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $stats (i32.add (local.get $stats) (i32.const 16)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; v with lanes ≥ cnt set to 0.
  (func $keep (param $v v128) (param $cnt i32) (result v128)
    (v128.and (local.get $v)
      (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $cnt)))))

  (func (export "kl_bwd") (param $p i32) (param $q i32) (param $stats i32) (param $out i32) (param $g i32) (param $dp i32) (param $dq i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $bytes i32) (local $left i32) (local $pp i32) (local $pq i32) (local $o i32)
    (local $mp v128) (local $lsp v128) (local $mq v128) (local $lsq v128) (local $gv v128) (local $kl v128)
    (local $lp v128) (local $lq v128) (local $P v128)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $mp (v128.load32_splat (local.get $stats)))
      (local.set $lsp (v128.load32_splat offset=4 (local.get $stats)))
      (local.set $mq (v128.load32_splat offset=8 (local.get $stats)))
      (local.set $lsq (v128.load32_splat offset=12 (local.get $stats)))
      (local.set $gv (v128.load32_splat (local.get $g)))
      (local.set $kl (v128.load32_splat (local.get $out)))
      (local.set $pp (local.get $p))
      (local.set $pq (local.get $q))
      (local.set $o (i32.const 0))
      (local.set $left (local.get $n))
      (block $rowDone (loop $vec
        (br_if $rowDone (i32.lt_s (local.get $left) (i32.const 4)))
        (local.set $lp (f32x4.sub (f32x4.sub (v128.load (local.get $pp)) (local.get $mp)) (local.get $lsp)))
        (local.set $lq (f32x4.sub (f32x4.sub (v128.load (local.get $pq)) (local.get $mq)) (local.get $lsq)))
        (local.set $P (call $vexp (local.get $lp)))
        (if (local.get $dp) (then
          (v128.store (i32.add (local.get $dp) (local.get $o)) (f32x4.mul (f32x4.mul (local.get $gv) (local.get $P)) (f32x4.sub (f32x4.sub (local.get $lp) (local.get $lq)) (local.get $kl))))))
        (if (local.get $dq) (then
          (v128.store (i32.add (local.get $dq) (local.get $o)) (f32x4.mul (local.get $gv) (f32x4.sub (call $vexp (local.get $lq)) (local.get $P))))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pq (i32.add (local.get $pq) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))
        (br $vec)))
      (if (i32.gt_s (local.get $left) (i32.const 0)) (then
        (local.set $lp (f32x4.sub (f32x4.sub (call $load_part (local.get $pp) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $mp)) (local.get $lsp)))
        (local.set $lq (f32x4.sub (f32x4.sub (call $load_part (local.get $pq) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $mq)) (local.get $lsq)))
        (local.set $P (call $vexp (local.get $lp)))
        (if (local.get $dp) (then
          (call $store_part (i32.add (local.get $dp) (local.get $o)) (f32x4.mul (f32x4.mul (local.get $gv) (local.get $P)) (f32x4.sub (f32x4.sub (local.get $lp) (local.get $lq)) (local.get $kl))) (local.get $left))))
        (if (local.get $dq) (then
          (call $store_part (i32.add (local.get $dq) (local.get $o)) (f32x4.mul (local.get $gv) (f32x4.sub (call $vexp (local.get $lq)) (local.get $P))) (local.get $left))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pq (i32.add (local.get $pq) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
      (local.set $p (i32.add (local.get $p) (local.get $bytes)))
      (local.set $q (i32.add (local.get $q) (local.get $bytes)))
      (if (local.get $dp) (then (local.set $dp (i32.add (local.get $dp) (local.get $bytes)))))
      (if (local.get $dq) (then (local.set $dq (i32.add (local.get $dq) (local.get $bytes)))))
      (local.set $stats (i32.add (local.get $stats) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))
)
