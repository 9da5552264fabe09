;; attention.wat — scaled dot-product attention, forward and backward, float32 (the composite:
;; packages/tensor/src/attention.ts attentionComposite; the WebGPU twin: fused-attention.wgsl).
;;
;;   attn_fwd(prm, q, k, v, mask, o, l, r0, r1, scale, work)
;;     For query rows r in [r0, r1) of B·H·Tq (r = (b·H + h)·Tq + i): s_j = scale·q_i·k_j + mask_ij for
;;     the keys j the row sees (causal: j ≤ Tk − Tq + i), P = softmax(s), o_i = Σ_j P_j v_j and
;;     l_i = max_j s_j + log Σ_j exp(s_j − max) (the row's logsumexp, for the backward pass).
;;     A row whose keys are all masked gets o = 0 and l = −∞ (as the composite's zeros).
;;   attn_bwd(prm, q, k, v, mask, o, l, dO, dq, dk, dv, g0, g1, scale, work)
;;     For kv groups g in [g0, g1) of B·Hkv, recomputes P from l and accumulates (FlashAttention-2):
;;       dv_j += P_ij dO_i,  ds_ij = P_ij (dO_i·v_j − dO_i·o_i),  dq_i += scale Σ_j ds_ij k_j,
;;       dk_j += scale ds_ij q_i.
;;     A thread owns whole kv groups (all query heads sharing a kv head, in order), so dk and dv
;;     are summed in the same order whatever the thread count. No gradient flows to the mask.
;;   prm: int32 at prm: B H Hkv Tq Tk D causal hasMask, then (b, h, t) element strides of q, k, v
;;   (d stride 1) and (b, h, i, j) strides of the additive mask (0 where broadcast).
;;   o, dq: [B, H, Tq, D], dk, dv: [B, Hkv, Tk, D], l: [B, H, Tq], all contiguous.
;;   work: 3·Tk floats of the calling thread's scratch.
;; Grouped-query: query head h reads kv head h / (H / Hkv), as HF's repeat_kv.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "env" "log" (func $log (param f64) (result f64)))

  ;; @include vmath.inc.wat
  ;; @include vmem.inc.wat

  ;; Σ a[d]·b[d] over d < D (contiguous), in float32 lanes then (l0 + l2) + (l1 + l3).
  (func $dot (param $a i32) (param $b i32) (param $D i32) (result f32)
    (local $acc v128) (local $left i32)
    (local.set $left (local.get $D))
    (block $done (loop $vec
      (br_if $done (i32.le_s (local.get $left) (i32.const 0)))
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul (call $load4 (local.get $a) (local.get $left) (v128.const f32x4 0 0 0 0))
                   (call $load4 (local.get $b) (local.get $left) (v128.const f32x4 0 0 0 0)))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 2 (local.get $acc)))
             (f32.add (f32x4.extract_lane 1 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))

  ;; y[d] += alpha·x[d] for d < D (contiguous).
  (func $axpy (param $y i32) (param $x i32) (param $alpha f32) (param $D i32)
    (local $a v128) (local $left i32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $left (local.get $D))
    (block $done (loop $vec
      (br_if $done (i32.le_s (local.get $left) (i32.const 0)))
      (call $store4 (local.get $y)
        (f32x4.add (call $load4 (local.get $y) (local.get $left) (v128.const f32x4 0 0 0 0))
                   (f32x4.mul (local.get $a) (call $load4 (local.get $x) (local.get $left) (v128.const f32x4 0 0 0 0))))
        (local.get $left))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec))))

  ;; p[j] = exp(s[j] − shift) for j < n in place; returns Σ p in double.
  (func $exp_row (param $s i32) (param $n i32) (param $shift f32) (result f64)
    (local $left i32) (local $e v128) (local $a v128) (local $b v128) (local $vs v128)
    (local.set $vs (f32x4.splat (local.get $shift)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.le_s (local.get $left) (i32.const 0)))
      (local.set $e (call $vexp (f32x4.sub (call $load4 (local.get $s) (local.get $left) (v128.const f32x4 -inf -inf -inf -inf)) (local.get $vs))))
      (call $store4 (local.get $s) (local.get $e) (local.get $left))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $b (f64x2.add (local.get $b) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a)))
             (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))

  ;; base + 4·(x·s[0] + y·s[1] + z·s[2]) with the strides at prm + off.
  (func $at (param $base i32) (param $prm i32) (param $off i32) (param $x i32) (param $y i32) (param $z i32) (result i32)
    (local.set $prm (i32.add (local.get $prm) (local.get $off)))
    (i32.add (local.get $base) (i32.shl (i32.add (i32.add
      (i32.mul (local.get $x) (i32.load (local.get $prm)))
      (i32.mul (local.get $y) (i32.load offset=4 (local.get $prm))))
      (i32.mul (local.get $z) (i32.load offset=8 (local.get $prm)))) (i32.const 2))))

  ;; Scores of query row (b, h, i) into s[0..n): scale·q·k_j + mask; returns n, the keys it sees.
  (func $scores (param $prm i32) (param $q i32) (param $k i32) (param $mask i32) (param $b i32) (param $h i32) (param $i i32) (param $scale f32) (param $s i32) (result i32)
    (local $Tq i32) (local $Tk i32) (local $D i32) (local $hk i32) (local $n i32) (local $j i32) (local $qrow i32) (local $mrow i32) (local $v f32)
    (local.set $Tq (i32.load offset=12 (local.get $prm)))
    (local.set $Tk (i32.load offset=16 (local.get $prm)))
    (local.set $D (i32.load offset=20 (local.get $prm)))
    (local.set $hk (i32.div_u (local.get $h) (i32.div_u (i32.load offset=4 (local.get $prm)) (i32.load offset=8 (local.get $prm)))))
    ;; causal: query i sits at key position Tk − Tq + i
    (local.set $n (local.get $Tk))
    (if (i32.load offset=24 (local.get $prm))
      (then (local.set $n (select (local.get $Tk) (i32.add (i32.sub (local.get $Tk) (local.get $Tq)) (i32.add (local.get $i) (i32.const 1)))
        (i32.lt_s (local.get $Tk) (i32.add (i32.sub (local.get $Tk) (local.get $Tq)) (i32.add (local.get $i) (i32.const 1))))))))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (local.set $n (i32.const 0))))
    (local.set $qrow (call $at (local.get $q) (local.get $prm) (i32.const 32) (local.get $b) (local.get $h) (local.get $i)))
    (local.set $mrow (i32.add (local.get $mask) (i32.shl (i32.add (i32.add
      (i32.mul (local.get $b) (i32.load offset=68 (local.get $prm))) (i32.mul (local.get $h) (i32.load offset=72 (local.get $prm))))
      (i32.mul (local.get $i) (i32.load offset=76 (local.get $prm)))) (i32.const 2))))
    (block $done (loop $keys
      (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $v (f32.mul (call $dot (local.get $qrow) (call $at (local.get $k) (local.get $prm) (i32.const 44) (local.get $b) (local.get $hk) (local.get $j)) (local.get $D)) (local.get $scale)))
      (if (i32.load offset=28 (local.get $prm))
        (then (local.set $v (f32.add (local.get $v) (f32.load (i32.add (local.get $mrow) (i32.shl (i32.mul (local.get $j) (i32.load offset=80 (local.get $prm))) (i32.const 2))))))))
      (f32.store (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $keys)))
    (local.get $n))

  ;; max of s[0..n) (−∞ for n = 0; NaN if any is NaN)
  (func $max_row (param $s i32) (param $n i32) (result f32)
    (local $m f32) (local $j i32) (local $v f32)
    (local.set $m (f32.const -inf))
    (block $done (loop $keys
      (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $m (f32.max (local.get $m) (f32.load (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $keys)))
    (local.get $m))

  (func (export "attn_fwd") (param $prm i32) (param $q i32) (param $k i32) (param $v i32) (param $mask i32) (param $o i32) (param $l i32)
    (param $r0 i32) (param $r1 i32) (param $scale f32) (param $work i32)
    (local $H i32) (local $Tq i32) (local $D i32) (local $r i32) (local $b i32) (local $h i32) (local $i i32) (local $hk i32)
    (local $n i32) (local $j i32) (local $m f32) (local $sum f64) (local $orow i32) (local $inv f32)
    (local.set $H (i32.load offset=4 (local.get $prm)))
    (local.set $Tq (i32.load offset=12 (local.get $prm)))
    (local.set $D (i32.load offset=20 (local.get $prm)))
    (local.set $r (local.get $r0))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $r) (local.get $r1)))
      (local.set $i (i32.rem_u (local.get $r) (local.get $Tq)))
      (local.set $h (i32.rem_u (i32.div_u (local.get $r) (local.get $Tq)) (local.get $H)))
      (local.set $b (i32.div_u (local.get $r) (i32.mul (local.get $Tq) (local.get $H))))
      (local.set $hk (i32.div_u (local.get $h) (i32.div_u (local.get $H) (i32.load offset=8 (local.get $prm)))))
      (local.set $orow (i32.add (local.get $o) (i32.shl (i32.mul (local.get $r) (local.get $D)) (i32.const 2))))
      (memory.fill (local.get $orow) (i32.const 0) (i32.shl (local.get $D) (i32.const 2)))
      (local.set $n (call $scores (local.get $prm) (local.get $q) (local.get $k) (local.get $mask) (local.get $b) (local.get $h) (local.get $i) (local.get $scale) (local.get $work)))
      (local.set $m (call $max_row (local.get $work) (local.get $n)))
      (if (f32.eq (local.get $m) (f32.const -inf))
        (then (f32.store (i32.add (local.get $l) (i32.shl (local.get $r) (i32.const 2))) (f32.const -inf)))
        (else
          (local.set $sum (call $exp_row (local.get $work) (local.get $n) (local.get $m)))
          (local.set $j (i32.const 0))
          (block $vdone (loop $vals
            (br_if $vdone (i32.ge_s (local.get $j) (local.get $n)))
            (call $axpy (local.get $orow) (call $at (local.get $v) (local.get $prm) (i32.const 56) (local.get $b) (local.get $hk) (local.get $j))
              (f32.load (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 2)))) (local.get $D))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $vals)))
          (local.set $inv (f32.demote_f64 (f64.div (f64.const 1) (local.get $sum))))
          (call $scale_row (local.get $orow) (local.get $inv) (local.get $D))
          (f32.store (i32.add (local.get $l) (i32.shl (local.get $r) (i32.const 2)))
            (f32.demote_f64 (f64.add (f64.promote_f32 (local.get $m)) (call $log (local.get $sum)))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; x[d] *= a for d < D.
  (func $scale_row (param $x i32) (param $a f32) (param $D i32)
    (local $va v128) (local $left i32)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $left (local.get $D))
    (block $done (loop $vec
      (br_if $done (i32.le_s (local.get $left) (i32.const 0)))
      (call $store4 (local.get $x) (f32x4.mul (call $load4 (local.get $x) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $va)) (local.get $left))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec))))

  (func (export "attn_bwd") (param $prm i32) (param $q i32) (param $k i32) (param $v i32) (param $mask i32) (param $o i32) (param $l i32)
    (param $dO i32) (param $dq i32) (param $dk i32) (param $dv i32) (param $g0 i32) (param $g1 i32) (param $scale f32) (param $work i32)
    (local $H i32) (local $Hkv i32) (local $rep i32) (local $Tq i32) (local $Tk i32) (local $D i32)
    (local $g i32) (local $b i32) (local $hk i32) (local $h i32) (local $i i32) (local $j i32) (local $n i32) (local $row i32)
    (local $L f32) (local $Di f32) (local $p f32) (local $ds f32) (local $doRow i32) (local $dqRow i32) (local $qRow i32) (local $kvRow i32) (local $bytes i32)
    (local.set $H (i32.load offset=4 (local.get $prm)))
    (local.set $Hkv (i32.load offset=8 (local.get $prm)))
    (local.set $rep (i32.div_u (local.get $H) (local.get $Hkv)))
    (local.set $Tq (i32.load offset=12 (local.get $prm)))
    (local.set $Tk (i32.load offset=16 (local.get $prm)))
    (local.set $D (i32.load offset=20 (local.get $prm)))
    (local.set $g (local.get $g0))
    (block $done (loop $groups
      (br_if $done (i32.ge_s (local.get $g) (local.get $g1)))
      (local.set $b (i32.div_u (local.get $g) (local.get $Hkv)))
      (local.set $hk (i32.rem_u (local.get $g) (local.get $Hkv)))
      ;; this group's dk, dv rows start at zero
      (local.set $bytes (i32.shl (i32.mul (local.get $Tk) (local.get $D)) (i32.const 2)))
      (memory.fill (i32.add (local.get $dk) (i32.mul (local.get $g) (local.get $bytes))) (i32.const 0) (local.get $bytes))
      (memory.fill (i32.add (local.get $dv) (i32.mul (local.get $g) (local.get $bytes))) (i32.const 0) (local.get $bytes))
      (local.set $h (i32.mul (local.get $hk) (local.get $rep)))
      (block $headsDone (loop $heads
        (br_if $headsDone (i32.ge_s (local.get $h) (i32.mul (i32.add (local.get $hk) (i32.const 1)) (local.get $rep))))
        (local.set $i (i32.const 0))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $Tq)))
          (local.set $row (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $h)) (local.get $Tq)) (local.get $i)))
          (local.set $doRow (i32.add (local.get $dO) (i32.shl (i32.mul (local.get $row) (local.get $D)) (i32.const 2))))
          (local.set $dqRow (i32.add (local.get $dq) (i32.shl (i32.mul (local.get $row) (local.get $D)) (i32.const 2))))
          (memory.fill (local.get $dqRow) (i32.const 0) (i32.shl (local.get $D) (i32.const 2)))
          (local.set $L (f32.load (i32.add (local.get $l) (i32.shl (local.get $row) (i32.const 2)))))
          (if (f32.ne (local.get $L) (f32.const -inf)) (then
            (local.set $Di (call $dot (local.get $doRow) (i32.add (local.get $o) (i32.shl (i32.mul (local.get $row) (local.get $D)) (i32.const 2))) (local.get $D)))
            (local.set $qRow (call $at (local.get $q) (local.get $prm) (i32.const 32) (local.get $b) (local.get $h) (local.get $i)))
            (local.set $n (call $scores (local.get $prm) (local.get $q) (local.get $k) (local.get $mask) (local.get $b) (local.get $h) (local.get $i) (local.get $scale) (local.get $work)))
            (drop (call $exp_row (local.get $work) (local.get $n) (local.get $L)))
            (local.set $j (i32.const 0))
            (block $keysDone (loop $keys
              (br_if $keysDone (i32.ge_s (local.get $j) (local.get $n)))
              (local.set $p (f32.load (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 2)))))
              (local.set $kvRow (i32.shl (i32.mul (i32.add (i32.mul (local.get $g) (local.get $Tk)) (local.get $j)) (local.get $D)) (i32.const 2)))
              ;; dv_j += P·dO_i; ds = P·(dO_i·v_j − D_i)
              (call $axpy (i32.add (local.get $dv) (local.get $kvRow)) (local.get $doRow) (local.get $p) (local.get $D))
              (local.set $ds (f32.mul (local.get $p) (f32.sub
                (call $dot (local.get $doRow) (call $at (local.get $v) (local.get $prm) (i32.const 56) (local.get $b) (local.get $hk) (local.get $j)) (local.get $D))
                (local.get $Di))))
              (local.set $ds (f32.mul (local.get $ds) (local.get $scale)))
              (call $axpy (local.get $dqRow) (call $at (local.get $k) (local.get $prm) (i32.const 44) (local.get $b) (local.get $hk) (local.get $j)) (local.get $ds) (local.get $D))
              (call $axpy (i32.add (local.get $dk) (local.get $kvRow)) (local.get $qRow) (local.get $ds) (local.get $D))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $keys)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $rows)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $heads)))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $groups))))
)
