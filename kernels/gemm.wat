;; gemm.wat — C = A·B in float32: the packed GEMM of the CPU backend (WebAssembly SIMD).
;;
;;   gemm(a, ars, acs, b, brs, bcs, c, ldc, M, N, K, work)
;;   C[i, j] = Σ_k A[i, k]·B[k, j] for i < M, j < N, written at c + 4·(i·ldc + j) (overwritten).
;;   A[i, k] is the f32 at a + 4·(i·ars + k·acs), B[k, j] at b + 4·(k·brs + j·bcs): any strides
;;   (negative too), so transposed and sliced views need no copy — packing reads them.
;;   Pointers are byte offsets into the shared memory, strides are in elements. K ≥ 1.
;;   `work` points at work_bytes() bytes of scratch owned by the calling thread.
;;
;; Loop order (BLIS): for each NC-wide block of B columns, for each kc-deep slice of K, pack that
;; B block into 8-column panels ([k][8], zero-padded); for each MC-tall block of A rows, pack it
;; into 4-row panels ([k][4], zero-padded); then run the 4×8 micro-kernel on every pair of
;; panels: a B panel (kc·32 B ≤ 12 KiB) stays in L1 while the A block (≤ 144 KiB) streams from L2.
;; The first K slice stores into C, later slices add to it. K is cut into equal slices of at most
;; KC_MAX (K = 288 is one slice, 768 two of 384): a short last slice would cost a C pass.
;;
;; Micro-kernel 4×8: 8 f32x4 accumulators; per k, 2 vector loads of B, 4 broadcast loads of A
;; (v128.load32_splat → vbroadcastss) and 8 multiply-adds. Why 4×8: V8's TurboFan (x64) has
;; 15 allocatable xmm registers and schedules all loads of an iteration first, so a tile needs
;; accumulators + B vectors + A broadcasts + 1 temporary ≤ 15: 4×8 uses exactly 15. 6×8, 5×8,
;; 4×12 and any unrolling of k spilled accumulators to the stack (measured 22–27 GFLOP/s against
;; 40 for 4×8 on one Zen 4 core; tfjs-wasm's XNNPACK 4×8 kernel: 30–46).
;;
;; The multiply-adds are written as f32x4.relaxed_madd (one vfmadd with FMA3). kernels/build.mjs
;; also emits gemm-plain.wasm, the same code with each relaxed_madd(a, b, c) rewritten as
;; f32x4.add(f32x4.mul(a, b), c), for runtimes without relaxed SIMD (Node 20's V8 11.3); the
;; loader picks one per process, so every thread computes with the same arithmetic.
;;
;; Determinism: each C element is the same sequence of operations whatever tile, block or thread
;; computes it (zero padding only feeds lanes that are discarded), so splitting M or N over threads
;; gives bit-identical results.
(module
  (import "env" "memory" (memory 1 65536 shared))

  (global $KC_MAX i32 (i32.const 384))
  (global $MC i32 (i32.const 96))
  (global $NC i32 (i32.const 2048))

  ;; Scratch layout: packed B (KC_MAX·NC floats), packed A (KC_MAX·MC floats), a 4×8 edge tile.
  (func $work_bytes (export "work_bytes") (result i32)
    (i32.mul (i32.const 4) (i32.add (i32.add (i32.mul (global.get $KC_MAX) (global.get $NC))
                                            (i32.mul (global.get $KC_MAX) (global.get $MC)))
                                   (i32.const 32))))

  ;; T[4×8] (rows ldc bytes apart at c) = (first ? 0 : T) + Apanel[kc×4]ᵀ · Bpanel[kc×8].
  (func $kernel_4x8 (param $pa i32) (param $pb i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $first i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128) (local $end i32)
    (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
      (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f32x4.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $k (i32.lt_u (local.get $pb) (local.get $end))))
    (if (i32.eqz (local.get $first))
      (then
        (local.set $c00 (f32x4.add (v128.load (local.get $c)) (local.get $c00)))
        (local.set $c01 (f32x4.add (v128.load offset=16 (local.get $c)) (local.get $c01)))
        (local.set $c10 (f32x4.add (v128.load (i32.add (local.get $c) (local.get $ldc))) (local.get $c10)))
        (local.set $c11 (f32x4.add (v128.load offset=16 (i32.add (local.get $c) (local.get $ldc))) (local.get $c11)))
        (local.set $c20 (f32x4.add (v128.load (i32.add (local.get $c) (i32.shl (local.get $ldc) (i32.const 1)))) (local.get $c20)))
        (local.set $c21 (f32x4.add (v128.load offset=16 (i32.add (local.get $c) (i32.shl (local.get $ldc) (i32.const 1)))) (local.get $c21)))
        (local.set $c30 (f32x4.add (v128.load (i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const 3)))) (local.get $c30)))
        (local.set $c31 (f32x4.add (v128.load offset=16 (i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const 3)))) (local.get $c31)))))
    (v128.store (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31)))

  ;; 4×4 transpose: rows r0..r3 → columns, via unpack lo/hi of 32-bit lanes then of 64-bit halves
  ;; (V8 matches these shuffles to unpcklps/unpckhps/punpcklqdq/punpckhqdq).
  ;; Stores column q (= [r0[q], r1[q], r2[q], r3[q]]) at dst + q·stride.
  (func $store_transposed (param $r0 v128) (param $r1 v128) (param $r2 v128) (param $r3 v128) (param $dst i32) (param $stride i32)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
    (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
    (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))

  ;; Packs `width` (≤ W) lines of a kc-long operand slice into one panel [kc][W] (zero-padded):
  ;; element (line l, step p) is read at src + l·ls + p·ps (byte strides) and written at
  ;; dst + 4·(p·W + l). Used for both operands: A's lines are rows (W = 4), B's are columns (W = 8).
  ;; Fast paths: the lines are adjacent (ls = 4: a vector copy per step) or the steps are
  ;; (ps = 4: 4×4 transposes); anything else, or a partial panel, goes element by element.
  (func $pack_panel (param $src i32) (param $ls i32) (param $ps i32) (param $kc i32) (param $width i32) (param $W i32) (param $dst i32)
    (local $p i32) (local $l i32) (local $s i32) (local $rowBytes i32) (local $kc4 i32)
    (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))
    (if (i32.eq (local.get $width) (local.get $W))
      (then
        (if (i32.eq (local.get $ls) (i32.const 4))
          (then
            ;; lines adjacent: each step's W values are one (W = 4) or two (W = 8) vector loads
            (loop $steps
              (v128.store (local.get $dst) (v128.load (local.get $src)))
              (if (i32.eq (local.get $W) (i32.const 8))
                (then (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))))
              (local.set $src (i32.add (local.get $src) (local.get $ps)))
              (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
              (br_if $steps (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))
            (return)))
        (if (i32.eq (local.get $ps) (i32.const 4))
          (then
            ;; steps adjacent: load 4 steps of 4 lines, transpose, store 4 panel rows
            (local.set $kc4 (i32.and (local.get $kc) (i32.const -4)))
            (block $done (loop $steps
              (br_if $done (i32.ge_s (local.get $p) (local.get $kc4)))
              (local.set $l (i32.const 0))
              (loop $lines
                (local.set $s (i32.add (i32.add (local.get $src) (i32.shl (local.get $p) (i32.const 2))) (i32.mul (local.get $l) (local.get $ls))))
                (call $store_transposed
                  (v128.load (local.get $s))
                  (v128.load (i32.add (local.get $s) (local.get $ls)))
                  (v128.load (i32.add (local.get $s) (i32.shl (local.get $ls) (i32.const 1))))
                  (v128.load (i32.add (local.get $s) (i32.mul (local.get $ls) (i32.const 3))))
                  (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $W)) (local.get $l)) (i32.const 2)))
                  (local.get $rowBytes))
                (br_if $lines (i32.lt_s (local.tee $l (i32.add (local.get $l) (i32.const 4))) (local.get $W))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (br $steps)))))))
    ;; element by element (also the remainder steps of the transposing path)
    (block $done (loop $steps
      (br_if $done (i32.ge_s (local.get $p) (local.get $kc)))
      (local.set $l (i32.const 0))
      (loop $lines
        (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $W)) (local.get $l)) (i32.const 2)))
          (if (result f32) (i32.lt_s (local.get $l) (local.get $width))
            (then (f32.load (i32.add (i32.add (local.get $src) (i32.mul (local.get $l) (local.get $ls))) (i32.mul (local.get $p) (local.get $ps)))))
            (else (f32.const 0))))
        (br_if $lines (i32.lt_s (local.tee $l (i32.add (local.get $l) (i32.const 1))) (local.get $W))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $steps))))

  ;; Packs `lines` lines into ceil(lines / W) consecutive panels of kc·W floats.
  (func $pack (param $src i32) (param $ls i32) (param $ps i32) (param $kc i32) (param $lines i32) (param $W i32) (param $dst i32)
    (local $l i32)
    (block $done (loop $panels
      (br_if $done (i32.ge_s (local.get $l) (local.get $lines)))
      (call $pack_panel
        (i32.add (local.get $src) (i32.mul (local.get $l) (local.get $ls)))
        (local.get $ls) (local.get $ps) (local.get $kc)
        (select (i32.sub (local.get $lines) (local.get $l)) (local.get $W) (i32.lt_s (i32.sub (local.get $lines) (local.get $l)) (local.get $W)))
        (local.get $W) (local.get $dst))
      (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $kc) (local.get $W)) (i32.const 2))))
      (local.set $l (i32.add (local.get $l) (local.get $W)))
      (br $panels))))

  ;; Edge tile: adds (or stores, when first) the top-left mr×nr of the 4×8 tile at t into C.
  (func $store_edge (param $t i32) (param $c i32) (param $ldc i32) (param $mr i32) (param $nr i32) (param $first i32)
    (local $i i32) (local $j i32) (local $dst i32) (local $v f32)
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $dst (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $v (f32.load (i32.add (local.get $t) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
        (f32.store (local.get $dst)
          (if (result f32) (local.get $first) (then (local.get $v)) (else (f32.add (f32.load (local.get $dst)) (local.get $v)))))
        (br_if $cols (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
      (br_if $rows (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mr)))))

  (func $min (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.lt_s (local.get $x) (local.get $y))))

  (func $gemm (export "gemm")
    (param $a i32) (param $ars i32) (param $acs i32)
    (param $b i32) (param $brs i32) (param $bcs i32)
    (param $c i32) (param $ldc i32) (param $M i32) (param $N i32) (param $K i32) (param $work i32)
    (local $packB i32) (local $packA i32) (local $tile i32)
    (local $jc i32) (local $pc i32) (local $ic i32) (local $jr i32) (local $ir i32)
    (local $nc i32) (local $kc i32) (local $kcMax i32) (local $mc i32) (local $first i32)
    (local $mr i32) (local $nr i32) (local $cp i32) (local $pa i32) (local $pb i32)
    ;; byte strides
    (local.set $ars (i32.shl (local.get $ars) (i32.const 2)))
    (local.set $acs (i32.shl (local.get $acs) (i32.const 2)))
    (local.set $brs (i32.shl (local.get $brs) (i32.const 2)))
    (local.set $bcs (i32.shl (local.get $bcs) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $packB (local.get $work))
    (local.set $packA (i32.add (local.get $packB) (i32.shl (i32.mul (global.get $KC_MAX) (global.get $NC)) (i32.const 2))))
    (local.set $tile (i32.add (local.get $packA) (i32.shl (i32.mul (global.get $KC_MAX) (global.get $MC)) (i32.const 2))))
    ;; equal K slices: kcMax = ceil(K / ceil(K / KC_MAX))
    (local.set $kc (i32.div_u (i32.sub (i32.add (local.get $K) (global.get $KC_MAX)) (i32.const 1)) (global.get $KC_MAX)))
    (local.set $kcMax (i32.div_u (i32.sub (i32.add (local.get $K) (local.get $kc)) (i32.const 1)) (local.get $kc)))
    (loop $Ljc
      (local.set $nc (call $min (i32.sub (local.get $N) (local.get $jc)) (global.get $NC)))
      (local.set $pc (i32.const 0))
      (loop $Lpc
        (local.set $kc (call $min (i32.sub (local.get $K) (local.get $pc)) (local.get $kcMax)))
        (local.set $first (i32.eqz (local.get $pc)))
        ;; B block: lines are columns (stride bcs), steps are k (stride brs)
        (call $pack (i32.add (local.get $b) (i32.add (i32.mul (local.get $pc) (local.get $brs)) (i32.mul (local.get $jc) (local.get $bcs))))
          (local.get $bcs) (local.get $brs) (local.get $kc) (local.get $nc) (i32.const 8) (local.get $packB))
        (local.set $ic (i32.const 0))
        (loop $Lic
          (local.set $mc (call $min (i32.sub (local.get $M) (local.get $ic)) (global.get $MC)))
          ;; A block: lines are rows (stride ars), steps are k (stride acs)
          (call $pack (i32.add (local.get $a) (i32.add (i32.mul (local.get $ic) (local.get $ars)) (i32.mul (local.get $pc) (local.get $acs))))
            (local.get $ars) (local.get $acs) (local.get $kc) (local.get $mc) (i32.const 4) (local.get $packA))
          (local.set $jr (i32.const 0))
          (loop $Ljr
            (local.set $nr (call $min (i32.sub (local.get $nc) (local.get $jr)) (i32.const 8)))
            (local.set $pb (i32.add (local.get $packB) (i32.mul (local.get $jr) (i32.shl (local.get $kc) (i32.const 2)))))
            (local.set $ir (i32.const 0))
            (loop $Lir
              (local.set $mr (call $min (i32.sub (local.get $mc) (local.get $ir)) (i32.const 4)))
              (local.set $pa (i32.add (local.get $packA) (i32.mul (local.get $ir) (i32.shl (local.get $kc) (i32.const 2)))))
              (local.set $cp (i32.add (local.get $c)
                (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc)) (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2)))))
              (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
                (then (call $kernel_4x8 (local.get $pa) (local.get $pb) (local.get $kc) (local.get $cp) (local.get $ldc) (local.get $first)))
                (else
                  (call $kernel_4x8 (local.get $pa) (local.get $pb) (local.get $kc) (local.get $tile) (i32.const 32) (i32.const 1))
                  (call $store_edge (local.get $tile) (local.get $cp) (local.get $ldc) (local.get $mr) (local.get $nr) (local.get $first))))
              (br_if $Lir (i32.lt_s (local.tee $ir (i32.add (local.get $ir) (i32.const 4))) (local.get $mc))))
            (br_if $Ljr (i32.lt_s (local.tee $jr (i32.add (local.get $jr) (i32.const 8))) (local.get $nc))))
          (br_if $Lic (i32.lt_s (local.tee $ic (i32.add (local.get $ic) (global.get $MC))) (local.get $M))))
        (br_if $Lpc (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (local.get $kcMax))) (local.get $K))))
      (br_if $Ljc (i32.lt_s (local.tee $jc (i32.add (local.get $jc) (global.get $NC))) (local.get $N)))))
)
