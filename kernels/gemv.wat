;; gemv.wat — vector × matrix in float32 (decode's x·Wᵀ and friends), WebAssembly SIMD.
;;
;;   gemv_t(x, w, ldw, y, N, K): y[j] = Σ_k x[k]·W[j, k], W[j, k] at w + 4·(j·ldw + k)
;;     (rows of W contiguous: a Linear layer's [out, in] weight). Four rows at a time share each
;;     vector load of x; one f32x4 accumulator per row, summed across lanes at the end.
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

  ;; The last K % 4 values at p (the rest of the vector zero).
  (func $tail (param $p i32) (param $n i32) (result v128)
    (local $v v128)
    (local.set $v (v128.const i32x4 0 0 0 0))
    (if (i32.gt_s (local.get $n) (i32.const 0)) (then (local.set $v (f32x4.replace_lane 0 (local.get $v) (f32.load (local.get $p))))))
    (if (i32.gt_s (local.get $n) (i32.const 1)) (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $p))))))
    (if (i32.gt_s (local.get $n) (i32.const 2)) (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $p))))))
    (local.get $v))

  (func $gemv_t (export "gemv_t") (param $x i32) (param $w i32) (param $ldw i32) (param $y i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $K4 i32) (local $rest i32) (local $row i32) (local $rows i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $xv v128) (local $s v128)
    (local.set $ldw (i32.shl (local.get $ldw) (i32.const 2)))
    (local.set $K4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (local.set $rest (i32.and (local.get $K) (i32.const 3)))
    (block $done (loop $rowsLoop
      (br_if $done (i32.ge_s (local.get $j) (local.get $N)))
      ;; four rows (a missing row repeats the last one; its result is not stored)
      (local.set $rows (i32.sub (local.get $N) (local.get $j)))
      (local.set $r0 (i32.add (local.get $w) (i32.mul (local.get $j) (local.get $ldw))))
      (local.set $r1 (select (i32.add (local.get $r0) (local.get $ldw)) (local.get $r0) (i32.gt_s (local.get $rows) (i32.const 1))))
      (local.set $r2 (select (i32.add (local.get $r1) (local.get $ldw)) (local.get $r1) (i32.gt_s (local.get $rows) (i32.const 2))))
      (local.set $r3 (select (i32.add (local.get $r2) (local.get $ldw)) (local.get $r2) (i32.gt_s (local.get $rows) (i32.const 3))))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kLoop
        (br_if $kdone (i32.ge_s (local.get $k) (local.get $K4)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $k))))
        (local.set $a0 (f32x4.relaxed_madd (local.get $xv) (v128.load (i32.add (local.get $r0) (local.get $k))) (local.get $a0)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $xv) (v128.load (i32.add (local.get $r1) (local.get $k))) (local.get $a1)))
        (local.set $a2 (f32x4.relaxed_madd (local.get $xv) (v128.load (i32.add (local.get $r2) (local.get $k))) (local.get $a2)))
        (local.set $a3 (f32x4.relaxed_madd (local.get $xv) (v128.load (i32.add (local.get $r3) (local.get $k))) (local.get $a3)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kLoop)))
      (if (local.get $rest)
        (then
          (local.set $xv (call $tail (i32.add (local.get $x) (local.get $K4)) (local.get $rest)))
          (local.set $a0 (f32x4.relaxed_madd (local.get $xv) (call $tail (i32.add (local.get $r0) (local.get $K4)) (local.get $rest)) (local.get $a0)))
          (local.set $a1 (f32x4.relaxed_madd (local.get $xv) (call $tail (i32.add (local.get $r1) (local.get $K4)) (local.get $rest)) (local.get $a1)))
          (local.set $a2 (f32x4.relaxed_madd (local.get $xv) (call $tail (i32.add (local.get $r2) (local.get $K4)) (local.get $rest)) (local.get $a2)))
          (local.set $a3 (f32x4.relaxed_madd (local.get $xv) (call $tail (i32.add (local.get $r3) (local.get $K4)) (local.get $rest)) (local.get $a3)))))
      (local.set $s (call $hsum4 (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))
      (local.set $row (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
      (if (i32.ge_s (local.get $rows) (i32.const 4))
        (then (v128.store (local.get $row) (local.get $s)))
        (else
          (f32.store (local.get $row) (f32x4.extract_lane 0 (local.get $s)))
          (if (i32.gt_s (local.get $rows) (i32.const 1)) (then (f32.store offset=4 (local.get $row) (f32x4.extract_lane 1 (local.get $s)))))
          (if (i32.gt_s (local.get $rows) (i32.const 2)) (then (f32.store offset=8 (local.get $row) (f32x4.extract_lane 2 (local.get $s)))))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $rowsLoop))))

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
          (if (result v128) (i32.ge_s (local.get $cols) (i32.const 4)) (then (v128.load (local.get $p))) (else (call $tail (local.get $p) (local.get $cols))))
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
