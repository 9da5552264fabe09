// A CPU worker (see threads.ts). It never returns to its event loop: it spins briefly, then sleeps
// in Atomics.wait on the job counter (a futex, woken in microseconds), takes jobs from its port
// synchronously (receiveMessageOnPort), runs them, then counts down. A job is a list of
// WebAssembly kernel calls on the shared heap (its own instances of the kernel modules, on the
// calling thread's memory), or a TypeScript matmul on SharedArrayBuffers.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FloatArray } from './matmul.ts';
import { claimPieces, runParts, workerInstances, WORK, type Part, type WasmCall } from './threads.ts';

type Job =
  | { kind: 'wasm'; pieces: WasmCall[][]; works: number[] }
  | {
    kind: 'matmul';
    a: FloatArray; ars: number; acs: number;
    b: FloatArray; brs: number; bcs: number;
    c: FloatArray;
    parts: Part[];
  };

const { ctrl, slot, port, layout, spinMs, wasm } = workerData as {
  ctrl: Int32Array; slot: number; port: MessagePort; layout: { SEQ: number; DONE: number; FAILED: number; NEXT: number; READY: number }; spinMs: number;
  wasm: { memory: WebAssembly.Memory; modules: [string, WebAssembly.Module][] } | null;
};

const kernels = workerInstances(wasm);

Atomics.store(ctrl, layout.READY + slot, 1);
Atomics.notify(ctrl, layout.READY + slot);

function run(job: Job): void {
  if (job.kind === 'wasm') {
    if (!kernels) throw new Error('this worker has no WebAssembly kernels');
    claimPieces(ctrl, kernels, job.pieces, job.works[slot + 1] ?? WORK);
    return;
  }
  runParts(job.a, job.ars, job.acs, job.b, job.brs, job.bcs, job.c, job.parts);
}

for (;;) {
  // Read the counter before draining the port: a job posted after the drain has bumped it, so the
  // wait below returns at once instead of sleeping on a queued message.
  const seen = Atomics.load(ctrl, layout.SEQ);
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    try {
      run(m.message as Job);
    } catch (e) {
      console.error(`kts CPU worker ${slot}:`, e);
      Atomics.store(ctrl, layout.FAILED, 1);
    }
    Atomics.add(ctrl, layout.DONE, 1);
    Atomics.notify(ctrl, layout.DONE);
  }
  // Spin briefly first: a decode step issues its kernels back to back, and waking from a futex
  // costs ~30 µs, as much as a 288×288 product.
  const spinUntil = performance.now() + spinMs;
  while (Atomics.load(ctrl, layout.SEQ) === seen && performance.now() < spinUntil);
  Atomics.wait(ctrl, layout.SEQ, seen);
}
