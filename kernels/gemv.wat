;; gemv.wat — vector × matrix in float32 (decode's x·Wᵀ and friends), WebAssembly SIMD.
;;
;;   gemv_t(x, w, ldw, y, N, K): y[j] = Σ_k x[k]·W[j, k], W[j, k] at w + 4·(j·ldw + k)
;;     (rows of W contiguous: a Linear layer's [out, in] weight). One row at a time, 16 floats per
;;     step in four accumulators: W streams from memory as one sequential run. Interleaving 4 rows
;;     (sharing the loads of x) reached 9 GB/s from DRAM on one Zen 4 core, one row 19 GB/s.
;;   gemv_n(x, w, ldw, y, N, K): y[j] = Σ_k x[k]·W[k, j], W[k, j] at w + 4·(k·ldw + j)
;;     (W [in, out]): sixteen outputs at a time stay in four accumulators while k runs.
;;   x is contiguous (K floats), y gets N contiguous floats. Pointers in bytes, ldw in elements.
;;
;; Both are bound by reading W once from memory; the accumulators keep the multiply-adds off the
;; critical path. Tails (N or K not a multiple of 4) go through the same vector arithmetic with
;; zero-filled lanes (x and W both zero there, so even an infinite x never meets a padding 0), so
;; an output's value does not depend on where a thread's range starts: splitting N over threads
;; is bit-identical. relaxed_madd becomes mul + add in gemv-plain (see kernels/build-wasm.mjs).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; @include vmem.inc.wat

  (func $gemv_t (export "gemv_t") (param $x i32) (param $w i32) (param $ldw i32) (param $y i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $K16 i32) (local $K4 i32) (local $row i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $ldw (i32.shl (local.get $ldw) (i32.const 2)))
    (local.set $K16 (i32.shl (i32.and (local.get $K) (i32.const -16)) (i32.const 2)))
    (local.set $K4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (local.set $row (local.get $w))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $j) (local.get $N)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      ;; 16 floats per step, then 4, then the last K mod 4 (zero-filled in x and W)
      (local.set $k (i32.const 0))
      (block $k16done (loop $k16
        (br_if $k16done (i32.ge_s (local.get $k) (local.get $K16)))
        (local.set $a0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $x) (local.get $k))) (v128.load (i32.add (local.get $row) (local.get $k))) (local.get $a0)))
        (local.set $a1 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $x) (local.get $k))) (v128.load offset=16 (i32.add (local.get $row) (local.get $k))) (local.get $a1)))
        (local.set $a2 (f32x4.relaxed_madd (v128.load offset=32 (i32.add (local.get $x) (local.get $k))) (v128.load offset=32 (i32.add (local.get $row) (local.get $k))) (local.get $a2)))
        (local.set $a3 (f32x4.relaxed_madd (v128.load offset=48 (i32.add (local.get $x) (local.get $k))) (v128.load offset=48 (i32.add (local.get $row) (local.get $k))) (local.get $a3)))
        (local.set $k (i32.add (local.get $k) (i32.const 64)))
        (br $k16)))
      (block $k4done (loop $k4
        (br_if $k4done (i32.ge_s (local.get $k) (local.get $K4)))
        (local.set $a0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $x) (local.get $k))) (v128.load (i32.add (local.get $row) (local.get $k))) (local.get $a0)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $k4)))
      (if (i32.and (local.get $K) (i32.const 3)) (then
        (local.set $a0 (f32x4.relaxed_madd (call $load_part (i32.add (local.get $x) (local.get $k)) (i32.and (local.get $K) (i32.const 3)) (v128.const i32x4 0 0 0 0))
                                           (call $load_part (i32.add (local.get $row) (local.get $k)) (i32.and (local.get $K) (i32.const 3)) (v128.const i32x4 0 0 0 0)) (local.get $a0)))))
      ;; lanes of (a0 + a1) + (a2 + a3) summed as (l0 + l2) + (l1 + l3), inline (a call per row
      ;; would spill the accumulators)
      (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
      (local.set $a0 (f32x4.add (local.get $a0) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a0) (local.get $a0))))
      (f32.store (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2)))
        (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0))))
      (local.set $row (i32.add (local.get $row) (local.get $ldw)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows))))

  (func $gemv_n (export "gemv_n") (param $x i32) (param $w i32) (param $ldw i32) (param $y i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $p i32) (local $cols i32) (local $xk v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $ldw (i32.shl (local.get $ldw) (i32.const 2)))
    ;; sixteen columns at a time
    (block $done (loop $cols16
      (br_if $done (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $N)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $k (i32.const 0))
      (loop $kLoop
        (local.set $xk (v128.load32_splat (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (f32x4.relaxed_madd (local.get $xk) (v128.load (local.get $p)) (local.get $a0)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $xk) (v128.load offset=16 (local.get $p)) (local.get $a1)))
        (local.set $a2 (f32x4.relaxed_madd (local.get $xk) (v128.load offset=32 (local.get $p)) (local.get $a2)))
        (local.set $a3 (f32x4.relaxed_madd (local.get $xk) (v128.load offset=48 (local.get $p)) (local.get $a3)))
        (local.set $p (i32.add (local.get $p) (local.get $ldw)))
        (br_if $kLoop (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $K))))
      (local.set $p (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
      (v128.store (local.get $p) (local.get $a0))
      (v128.store offset=16 (local.get $p) (local.get $a1))
      (v128.store offset=32 (local.get $p) (local.get $a2))
      (v128.store offset=48 (local.get $p) (local.get $a3))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $cols16)))
    ;; then four (or fewer, zero-filled) at a time
    (block $done (loop $cols4
      (br_if $done (i32.ge_s (local.get $j) (local.get $N)))
      (local.set $cols (i32.sub (local.get $N) (local.get $j)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $k (i32.const 0))
      (loop $kLoop
        (local.set $xk (v128.load32_splat (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (f32x4.relaxed_madd (local.get $xk)
          (if (result v128) (i32.ge_s (local.get $cols) (i32.const 4)) (then (v128.load (local.get $p))) (else (call $load_part (local.get $p) (local.get $cols) (v128.const i32x4 0 0 0 0))))
          (local.get $a0)))
        (local.set $p (i32.add (local.get $p) (local.get $ldw)))
        (br_if $kLoop (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $K))))
      (local.set $p (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
      (if (i32.ge_s (local.get $cols) (i32.const 4))
        (then (v128.store (local.get $p) (local.get $a0)))
        (else
          (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $a0)))
          (if (i32.gt_s (local.get $cols) (i32.const 1)) (then (f32.store offset=4 (local.get $p) (f32x4.extract_lane 1 (local.get $a0)))))
          (if (i32.gt_s (local.get $cols) (i32.const 2)) (then (f32.store offset=8 (local.get $p) (f32x4.extract_lane 2 (local.get $a0)))))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $cols4))))
)
