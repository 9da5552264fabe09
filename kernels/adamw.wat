;; adamw.wat — one in-place AdamW step over float32 arrays (torch.optim.AdamW semantics, as
;; AdamW.step in packages/tensor/src/optim.ts and kernels/fused-adamw.wgsl):
;;   m ← β₁·m + (1 − β₁)·g
;;   v ← β₂·v + (1 − β₂)·g²
;;   p ← p·decay − stepSize · m / (√v / sqrtBc2 + eps),  decay = 1 − lr·wd, stepSize = lr / bc₁
;;
;;   adamw(p, g, m, v, n, b1, b2, decay, stepSize, sqrtBc2, eps)
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; @include vmem.inc.wat

  (func (export "adamw") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $decay f32) (param $stepSize f32) (param $sqrtBc2 f32) (param $eps f32)
    (local $left i32) (local $o i32) (local $vg v128) (local $vm v128) (local $vv v128)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128) (local $DEC v128) (local $STEP v128) (local $SQ v128) (local $EPS v128)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $DEC (f32x4.splat (local.get $decay)))
    (local.set $STEP (f32x4.splat (local.get $stepSize)))
    (local.set $SQ (f32x4.splat (local.get $sqrtBc2)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    (local.set $left (local.get $n))
    (block $done (loop $vec
      (br_if $done (i32.lt_s (local.get $left) (i32.const 4)))
      (local.set $vg (v128.load (i32.add (local.get $g) (local.get $o))))
      (local.set $vm (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $B1))
                                (f32x4.mul (local.get $vg) (local.get $C1))))
      (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $B2))
                                (f32x4.mul (f32x4.mul (local.get $vg) (local.get $vg)) (local.get $C2))))
      (v128.store (i32.add (local.get $m) (local.get $o)) (local.get $vm))
      (v128.store (i32.add (local.get $v) (local.get $o)) (local.get $vv))
      (v128.store (i32.add (local.get $p) (local.get $o)) (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $o))) (local.get $DEC))
                   (f32x4.mul (f32x4.div (local.get $vm) (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $SQ)) (local.get $EPS))) (local.get $STEP))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4)))
      (br $vec)))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (local.set $vg (call $load_part (i32.add (local.get $g) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)))
      (local.set $vm (f32x4.add (f32x4.mul (call $load_part (i32.add (local.get $m) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $B1))
                                (f32x4.mul (local.get $vg) (local.get $C1))))
      (local.set $vv (f32x4.add (f32x4.mul (call $load_part (i32.add (local.get $v) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $B2))
                                (f32x4.mul (f32x4.mul (local.get $vg) (local.get $vg)) (local.get $C2))))
      (call $store_part (i32.add (local.get $m) (local.get $o)) (local.get $vm) (local.get $left))
      (call $store_part (i32.add (local.get $v) (local.get $o)) (local.get $vv) (local.get $left))
      (call $store_part (i32.add (local.get $p) (local.get $o)) (f32x4.sub (f32x4.mul (call $load_part (i32.add (local.get $p) (local.get $o)) (local.get $left) (v128.const f32x4 0 0 0 0)) (local.get $DEC))
                   (f32x4.mul (f32x4.div (local.get $vm) (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $SQ)) (local.get $EPS))) (local.get $STEP))) (local.get $left))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $left (i32.sub (local.get $left) (i32.const 4))))))
)
