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

  ;; y[d] += alpha·x[d] for d < D (contiguous).
  (func $axpy (param $y i32) (param $x i32) (param $alpha f32) (param $D i32)
    (local $a v128) (local $left i32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $left (local.get $D))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (v128.store (local.get $y) (f32x4.add (v128.load (local.get $y)) (f32x4.mul (local.get $a) (v128.load (local.get $x)))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (call $store_part (local.get $y)
          (f32x4.add (call $load_part (local.get $y) (local.get $left) (v128.const f32x4 0 0 0 0))
                     (f32x4.mul (local.get $a) (call $load_part (local.get $x) (local.get $left) (v128.const f32x4 0 0 0 0))))
          (local.get $left))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))

  ;; p[j] = exp(s[j] − shift) for j < n in place; returns Σ p in double.
  (func $exp_row (param $s i32) (param $n i32) (param $shift f32) (result f64)
    (local $left i32) (local $e v128) (local $a v128) (local $b v128) (local $vs v128)
    (local.set $vs (f32x4.splat (local.get $shift)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $e (call $vexp (f32x4.sub (v128.load (local.get $s)) (local.get $vs))))
      (v128.store (local.get $s) (local.get $e))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $b (f64x2.add (local.get $b) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $e (call $vexp (f32x4.sub (call $load_part (local.get $s) (local.get $left) (v128.const f32x4 -inf -inf -inf -inf)) (local.get $vs))))
      (call $store_part (local.get $s) (local.get $e) (local.get $left))
      (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $e))))
      (local.set $b (f64x2.add (local.get $b) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))))
    (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a)))
             (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))

  ;; base + 4·(x·s[0] + y·s[1] + z·s[2]) with the strides at prm + off.
  (func $at (param $base i32) (param $prm i32) (param $off i32) (param $x i32) (param $y i32) (param $z i32) (result i32)
    (local.set $prm (i32.add (local.get $prm) (local.get $off)))
    (i32.add (local.get $base) (i32.shl (i32.add (i32.add
      (i32.mul (local.get $x) (i32.load (local.get $prm)))
      (i32.mul (local.get $y) (i32.load offset=4 (local.get $prm))))
      (i32.mul (local.get $z) (i32.load offset=8 (local.get $prm)))) (i32.const 2))))

  ;; out[j] = a·rows[j] for j < n: rows[j] at rows + j·rs bytes, D floats each, a at `a` (D floats).
  ;; Four rows at a time share each load of a (a missing row repeats row n−1; not stored); the
  ;; four sums leave as one vector (hsum4). Used for q·k_j and dO·v_j.
  (func $dots (param $a i32) (param $rows i32) (param $rs i32) (param $n i32) (param $D i32) (param $out i32)
    (local $j i32) (local $d i32) (local $D4 i32) (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $last i32)
    (local $av v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $sum v128)
    (local.set $D4 (i32.shl (i32.and (local.get $D) (i32.const -4)) (i32.const 2)))
    (local.set $last (i32.add (local.get $rows) (i32.mul (i32.sub (local.get $n) (i32.const 1)) (local.get $rs))))
    (block $done (loop $keys
      (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $r0 (i32.add (local.get $rows) (i32.mul (local.get $j) (local.get $rs))))
      (local.set $r1 (select (i32.add (local.get $r0) (local.get $rs)) (local.get $last) (i32.lt_s (i32.add (local.get $j) (i32.const 1)) (local.get $n))))
      (local.set $r2 (select (i32.add (local.get $r1) (local.get $rs)) (local.get $last) (i32.lt_s (i32.add (local.get $j) (i32.const 2)) (local.get $n))))
      (local.set $r3 (select (i32.add (local.get $r2) (local.get $rs)) (local.get $last) (i32.lt_s (i32.add (local.get $j) (i32.const 3)) (local.get $n))))
      (local.set $s0 (v128.const i32x4 0 0 0 0))
      (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $s2 (v128.const i32x4 0 0 0 0))
      (local.set $s3 (v128.const i32x4 0 0 0 0))
      (local.set $d (i32.const 0))
      (block $dDone (loop $dLoop
        (br_if $dDone (i32.ge_s (local.get $d) (local.get $D4)))
        (local.set $av (v128.load (i32.add (local.get $a) (local.get $d))))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $r0) (local.get $d))))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $r1) (local.get $d))))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $r2) (local.get $d))))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $r3) (local.get $d))))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $dLoop)))
      (if (i32.and (local.get $D) (i32.const 3)) (then
        (local.set $av (call $load_part (i32.add (local.get $a) (local.get $d)) (i32.and (local.get $D) (i32.const 3)) (v128.const f32x4 0 0 0 0)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $av) (call $load_part (i32.add (local.get $r0) (local.get $d)) (i32.and (local.get $D) (i32.const 3)) (v128.const f32x4 0 0 0 0)))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $av) (call $load_part (i32.add (local.get $r1) (local.get $d)) (i32.and (local.get $D) (i32.const 3)) (v128.const f32x4 0 0 0 0)))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $av) (call $load_part (i32.add (local.get $r2) (local.get $d)) (i32.and (local.get $D) (i32.const 3)) (v128.const f32x4 0 0 0 0)))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $av) (call $load_part (i32.add (local.get $r3) (local.get $d)) (i32.and (local.get $D) (i32.const 3)) (v128.const f32x4 0 0 0 0)))))))
      (local.set $sum (call $hsum4 (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3)))
      (if (i32.ge_s (i32.sub (local.get $n) (local.get $j)) (i32.const 4))
        (then (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $sum)))
        (else (call $store_part (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $sum) (i32.sub (local.get $n) (local.get $j)))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $keys))))

  ;; out[d] = Σ_j w[j]·rows[j][d] for d < D (overwritten): sixteen columns at a time in four
  ;; accumulators while j runs, then four, then the last D mod 4. Used for P·V and dS·K.
  (func $combine (param $w i32) (param $rows i32) (param $rs i32) (param $n i32) (param $D i32) (param $out i32)
    (local $d i32) (local $j i32) (local $p i32) (local $left i32) (local $lanes v128) (local $wj v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done16 (loop $cols16
      (br_if $done16 (i32.gt_s (i32.add (local.get $d) (i32.const 16)) (local.get $D)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $rows) (i32.shl (local.get $d) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $jDone (loop $jLoop
        (br_if $jDone (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $wj (v128.load32_splat (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $wj) (v128.load (local.get $p)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $wj) (v128.load offset=16 (local.get $p)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $wj) (v128.load offset=32 (local.get $p)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $wj) (v128.load offset=48 (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $rs)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jLoop)))
      (local.set $p (i32.add (local.get $out) (i32.shl (local.get $d) (i32.const 2))))
      (v128.store (local.get $p) (local.get $a0))
      (v128.store offset=16 (local.get $p) (local.get $a1))
      (v128.store offset=32 (local.get $p) (local.get $a2))
      (v128.store offset=48 (local.get $p) (local.get $a3))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br $cols16)))
    (block $done4 (loop $cols4
      (br_if $done4 (i32.ge_s (local.get $d) (local.get $D)))
      (local.set $left (i32.sub (local.get $D) (local.get $d)))
      ;; lanes < left are loaded, the rest take the fill (a whole vector is always readable: heap slack)
      (local.set $lanes (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (local.get $left))))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $rows) (i32.shl (local.get $d) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $jDone (loop $jLoop
        (br_if $jDone (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load32_splat (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
          (v128.bitselect (v128.load (local.get $p)) (v128.const f32x4 0 0 0 0) (local.get $lanes)))))
        (local.set $p (i32.add (local.get $p) (local.get $rs)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jLoop)))
      (local.set $p (i32.add (local.get $out) (i32.shl (local.get $d) (i32.const 2))))
      (if (i32.ge_s (local.get $left) (i32.const 4)) (then (v128.store (local.get $p) (local.get $a0))) (else (call $store_part (local.get $p) (local.get $a0) (local.get $left))))
      (local.set $d (i32.add (local.get $d) (i32.const 4)))
      (br $cols4))))

  ;; Scores of query row (b, h, i) into s[0..n): scale·q·k_j + mask; returns n, the keys it sees.
  (func $scores (param $prm i32) (param $q i32) (param $k i32) (param $mask i32) (param $b i32) (param $h i32) (param $i i32) (param $scale f32) (param $s i32) (result i32)
    (local $Tq i32) (local $Tk i32) (local $hk i32) (local $n i32) (local $j i32) (local $mrow i32) (local $ms i32) (local $p i32)
    (local.set $Tq (i32.load offset=12 (local.get $prm)))
    (local.set $Tk (i32.load offset=16 (local.get $prm)))
    (local.set $hk (i32.div_u (local.get $h) (i32.div_u (i32.load offset=4 (local.get $prm)) (i32.load offset=8 (local.get $prm)))))
    ;; causal: query i sits at key position Tk − Tq + i
    (local.set $n (local.get $Tk))
    (if (i32.load offset=24 (local.get $prm))
      (then (local.set $n (select (local.get $Tk) (i32.add (i32.sub (local.get $Tk) (local.get $Tq)) (i32.add (local.get $i) (i32.const 1)))
        (i32.lt_s (local.get $Tk) (i32.add (i32.sub (local.get $Tk) (local.get $Tq)) (i32.add (local.get $i) (i32.const 1))))))))
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (i32.const 0))))
    (call $dots (call $at (local.get $q) (local.get $prm) (i32.const 32) (local.get $b) (local.get $h) (local.get $i))
      (call $at (local.get $k) (local.get $prm) (i32.const 44) (local.get $b) (local.get $hk) (i32.const 0))
      (i32.shl (i32.load offset=52 (local.get $prm)) (i32.const 2)) (local.get $n) (i32.load offset=20 (local.get $prm)) (local.get $s))
    (if (i32.load offset=28 (local.get $prm))
      (then
        (local.set $mrow (i32.add (local.get $mask) (i32.shl (i32.add (i32.add
          (i32.mul (local.get $b) (i32.load offset=68 (local.get $prm))) (i32.mul (local.get $h) (i32.load offset=72 (local.get $prm))))
          (i32.mul (local.get $i) (i32.load offset=76 (local.get $prm)))) (i32.const 2))))
        (local.set $ms (i32.shl (i32.load offset=80 (local.get $prm)) (i32.const 2)))
        (block $done (loop $keys
          (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
          (local.set $p (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2))))
          (f32.store (local.get $p) (f32.add (f32.mul (f32.load (local.get $p)) (local.get $scale)) (f32.load (local.get $mrow))))
          (local.set $mrow (i32.add (local.get $mrow) (local.get $ms)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $keys))))
      (else (call $scale_row (local.get $s) (local.get $scale) (local.get $n))))
    (local.get $n))

  ;; max of s[0..n) (−∞ for n = 0; NaN if any is NaN)
  (func $max_row (param $s i32) (param $n i32) (result f32)
    (local $m f32) (local $j i32)
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
      (local.set $n (call $scores (local.get $prm) (local.get $q) (local.get $k) (local.get $mask) (local.get $b) (local.get $h) (local.get $i) (local.get $scale) (local.get $work)))
      (local.set $m (call $max_row (local.get $work) (local.get $n)))
      (if (f32.eq (local.get $m) (f32.const -inf))
        (then
          (memory.fill (local.get $orow) (i32.const 0) (i32.shl (local.get $D) (i32.const 2)))
          (f32.store (i32.add (local.get $l) (i32.shl (local.get $r) (i32.const 2))) (f32.const -inf)))
        (else
          (local.set $sum (call $exp_row (local.get $work) (local.get $n) (local.get $m)))
          (call $combine (local.get $work) (call $at (local.get $v) (local.get $prm) (i32.const 56) (local.get $b) (local.get $hk) (i32.const 0))
            (i32.shl (i32.load offset=64 (local.get $prm)) (i32.const 2)) (local.get $n) (local.get $D) (local.get $orow))
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
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (v128.store (local.get $x) (f32x4.mul (v128.load (local.get $x)) (local.get $va)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (call $store_part (local.get $x) (f32x4.mul (call $load_part (local.get $x) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $va)) (local.get $left))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))

  ;; ds[j] = scale·P[j]·(dp[j] − Di) for j < n, in place over dp.
  (func $ds_row (param $P i32) (param $dp i32) (param $n i32) (param $Di f32) (param $scale f32)
    (local $left i32) (local $vd v128) (local $vs v128) (local $v v128)
    (local.set $vd (f32x4.splat (local.get $Di)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $v (f32x4.mul (f32x4.mul
        (v128.load (local.get $P))
        (f32x4.sub (v128.load (local.get $dp)) (local.get $vd)))
        (local.get $vs)))
      (v128.store (local.get $dp) (local.get $v))
      (local.set $P (i32.add (local.get $P) (i32.const 16)))
      (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $v (f32x4.mul (f32x4.mul
        (call $load_part (local.get $P) (local.get $left) (v128.const f32x4 0 0 0 0))
        (f32x4.sub (call $load_part (local.get $dp) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $vd)))
        (local.get $vs)))
      (call $store_part (local.get $dp) (local.get $v) (local.get $left))
      (local.set $P (i32.add (local.get $P) (i32.const 16)))
      (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))

  (func (export "attn_bwd") (param $prm i32) (param $q i32) (param $k i32) (param $v i32) (param $mask i32) (param $o i32) (param $l i32)
    (param $dO i32) (param $dq i32) (param $dk i32) (param $dv i32) (param $g0 i32) (param $g1 i32) (param $scale f32) (param $work i32)
    (local $H i32) (local $Hkv i32) (local $rep i32) (local $Tq i32) (local $Tk i32) (local $D i32)
    (local $g i32) (local $b i32) (local $hk i32) (local $h i32) (local $i i32) (local $j i32) (local $n i32) (local $row i32)
    (local $L f32) (local $Di f32) (local $doRow i32) (local $dqRow i32) (local $qRow i32) (local $bytes i32) (local $dp i32)
    (local $k0 i32) (local $ks i32) (local $v0 i32) (local $vs i32) (local $kv i32) (local $rowBytes i32)
    (local.set $H (i32.load offset=4 (local.get $prm)))
    (local.set $Hkv (i32.load offset=8 (local.get $prm)))
    (local.set $rep (i32.div_u (local.get $H) (local.get $Hkv)))
    (local.set $Tq (i32.load offset=12 (local.get $prm)))
    (local.set $Tk (i32.load offset=16 (local.get $prm)))
    (local.set $D (i32.load offset=20 (local.get $prm)))
    (local.set $ks (i32.shl (i32.load offset=52 (local.get $prm)) (i32.const 2)))
    (local.set $vs (i32.shl (i32.load offset=64 (local.get $prm)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $D) (i32.const 2)))
    ;; work: P (Tk floats), then dp / ds (Tk floats), then D_i
    (local.set $dp (i32.add (local.get $work) (i32.shl (local.get $Tk) (i32.const 2))))
    (local.set $g (local.get $g0))
    (block $done (loop $groups
      (br_if $done (i32.ge_s (local.get $g) (local.get $g1)))
      (local.set $b (i32.div_u (local.get $g) (local.get $Hkv)))
      (local.set $hk (i32.rem_u (local.get $g) (local.get $Hkv)))
      (local.set $k0 (call $at (local.get $k) (local.get $prm) (i32.const 44) (local.get $b) (local.get $hk) (i32.const 0)))
      (local.set $v0 (call $at (local.get $v) (local.get $prm) (i32.const 56) (local.get $b) (local.get $hk) (i32.const 0)))
      ;; this group's dk, dv rows start at zero
      (local.set $bytes (i32.mul (local.get $Tk) (local.get $rowBytes)))
      (memory.fill (i32.add (local.get $dk) (i32.mul (local.get $g) (local.get $bytes))) (i32.const 0) (local.get $bytes))
      (memory.fill (i32.add (local.get $dv) (i32.mul (local.get $g) (local.get $bytes))) (i32.const 0) (local.get $bytes))
      (local.set $h (i32.mul (local.get $hk) (local.get $rep)))
      (block $headsDone (loop $heads
        (br_if $headsDone (i32.ge_s (local.get $h) (i32.mul (i32.add (local.get $hk) (i32.const 1)) (local.get $rep))))
        (local.set $i (i32.const 0))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $Tq)))
          (local.set $row (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $h)) (local.get $Tq)) (local.get $i)))
          (local.set $doRow (i32.add (local.get $dO) (i32.mul (local.get $row) (local.get $rowBytes))))
          (local.set $dqRow (i32.add (local.get $dq) (i32.mul (local.get $row) (local.get $rowBytes))))
          (local.set $L (f32.load (i32.add (local.get $l) (i32.shl (local.get $row) (i32.const 2)))))
          (if (f32.eq (local.get $L) (f32.const -inf))
            (then (memory.fill (local.get $dqRow) (i32.const 0) (local.get $rowBytes)))
            (else
              ;; D_i = dO_i·o_i; P_j = exp(s_j − L_i); dp_j = dO_i·v_j; ds_j = scale·P_j·(dp_j − D_i)
              (call $dots (local.get $doRow) (i32.add (local.get $o) (i32.mul (local.get $row) (local.get $rowBytes))) (i32.const 0) (i32.const 1) (local.get $D)
                (i32.add (local.get $dp) (i32.shl (local.get $Tk) (i32.const 2))))
              (local.set $Di (f32.load (i32.add (local.get $dp) (i32.shl (local.get $Tk) (i32.const 2)))))
              (local.set $qRow (call $at (local.get $q) (local.get $prm) (i32.const 32) (local.get $b) (local.get $h) (local.get $i)))
              (local.set $n (call $scores (local.get $prm) (local.get $q) (local.get $k) (local.get $mask) (local.get $b) (local.get $h) (local.get $i) (local.get $scale) (local.get $work)))
              (drop (call $exp_row (local.get $work) (local.get $n) (local.get $L)))
              (call $dots (local.get $doRow) (local.get $v0) (local.get $vs) (local.get $n) (local.get $D) (local.get $dp))
              (call $ds_row (local.get $work) (local.get $dp) (local.get $n) (local.get $Di) (local.get $scale))
              ;; dq_i = Σ_j ds_j k_j; dk_j += ds_j q_i; dv_j += P_j dO_i
              (call $combine (local.get $dp) (local.get $k0) (local.get $ks) (local.get $n) (local.get $D) (local.get $dqRow))
              (local.set $j (i32.const 0))
              (block $keysDone (loop $keys
                (br_if $keysDone (i32.ge_s (local.get $j) (local.get $n)))
                (local.set $kv (i32.mul (i32.add (i32.mul (local.get $g) (local.get $Tk)) (local.get $j)) (local.get $rowBytes)))
                (call $axpy (i32.add (local.get $dk) (local.get $kv)) (local.get $qRow) (f32.load (i32.add (local.get $dp) (i32.shl (local.get $j) (i32.const 2)))) (local.get $D))
                (call $axpy (i32.add (local.get $dv) (local.get $kv)) (local.get $doRow) (f32.load (i32.add (local.get $work) (i32.shl (local.get $j) (i32.const 2)))) (local.get $D))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $keys)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $rows)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $heads)))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $groups))))
)
