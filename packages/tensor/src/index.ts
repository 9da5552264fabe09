// @kts/tensor: tensors with reverse-mode autograd, a plain-TypeScript CPU backend, nn, optim,
// seeded randomness and safetensors I/O.
import { registerBackend } from './backend.ts';
import { cpuBackend } from './cpu/backend.ts';

registerBackend(cpuBackend);

export { Tensor, type TensorLike } from './tensor.ts';
export { noGrad, isGradEnabled } from './autograd.ts';
export { tidy, keep } from './tidy.ts';
export {
  type Backend, type DType, type Storage, type TypedArray, type View, type UnaryOp, type BinaryOp, type ReduceOp,
  type FusedOps, type AttentionOptions, type AdamWParams, registerBackend, getBackend, setDefaultBackend, defaultBackend, UNARY_OPS, BINARY_OPS,
} from './backend.ts';
export { cpuBackend, CpuStorage } from './cpu/backend.ts';
export { setCpuThreads, cpuThreads, stopCpuThreads, cpuThreadStats } from '#cpu-threads';
export { setCpuKernels, cpuKernels } from './cpu/wasm/runtime.ts';
export { tensor, zeros, ones, full, arange, randn, rand, zerosLike, onesLike, type CreateOptions, type RandomOptions } from './creation.ts';
export { Generator, manualSeed, defaultGenerator } from './random.ts';
export {
  cat, stack, where, gather, indexSelect, scatterAdd, sumTo, fromStorage, toDeviceAsync, promote,
} from './ops.ts';
export {
  relu, silu, gelu, mean, variance, logsumexp, klDiv, triu, tril, causalMask, maskedFill, embedding, type KlDivOptions,
} from './functional.ts';
// Ops a backend may fuse: each file holds the op and its composite (definition and fallback).
export { softmax, logSoftmax, softmaxComposite, logSoftmaxComposite } from './fused/softmax.ts';
export { rmsNorm, rmsNormComposite } from './fused/rmsnorm.ts';
export { rotaryEmbedding, rotaryComposite } from './fused/rotary.ts';
export { attention, attentionComposite, repeatKv } from './fused/attention.ts';
export { klDivLogits, klDivLogitsComposite } from './fused/kl.ts';
export { crossEntropy, crossEntropyComposite, type CrossEntropyOptions } from './fused/cross-entropy.ts';
export { addSteering, addSteeringComposite } from './fused/steering.ts';
export { record } from './autograd.ts';
export * as shapes from './shape.ts';
export * as nn from './nn.ts';
export * as optim from './optim.ts';
export * as safetensors from './safetensors.ts';
export { saveTensors, saveTensorsAsync, loadTensors, loadTensorsFromBytes } from './io.ts';
export {
  type FileSource, type FileMap, type Files, type FileRef, FileLoadError, fileSource, urlFiles, memoryFiles, dirFiles, pathIn,
  readRequired, readJson, readFileRef,
} from './files.ts';
