// @kts/tensor: tensors with reverse-mode autograd, a plain-TypeScript CPU backend, nn, optim,
// seeded randomness and safetensors I/O.
import { registerBackend } from './backend.ts';
import { cpuBackend } from './cpu/backend.ts';

registerBackend(cpuBackend);

export { Tensor, type TensorLike } from './tensor.ts';
export { noGrad, isGradEnabled } from './autograd.ts';
export {
  type Backend, type DType, type Storage, type TypedArray, type View, type UnaryOp, type BinaryOp, type ReduceOp,
  type FusedOps, type AttentionOptions, registerBackend, getBackend, setDefaultBackend, defaultBackend, UNARY_OPS, BINARY_OPS,
} from './backend.ts';
export { cpuBackend, CpuStorage } from './cpu/backend.ts';
export { setCpuThreads, cpuThreads, stopCpuThreads, cpuThreadStats } from '#cpu-threads';
export { tensor, zeros, ones, full, arange, randn, rand, zerosLike, onesLike, type CreateOptions, type RandomOptions } from './creation.ts';
export { Generator, manualSeed, defaultGenerator } from './random.ts';
export {
  cat, stack, where, gather, indexSelect, scatterAdd, sumTo, fromStorage, toDeviceAsync, promote,
} from './ops.ts';
export {
  relu, silu, gelu, mean, variance, softmax, logSoftmax, logsumexp, rmsNorm, rotaryEmbedding,
  softmaxComposite, logSoftmaxComposite, rmsNormComposite, rotaryComposite, crossEntropyComposite,
  crossEntropy, klDiv, triu, tril, causalMask, maskedFill, embedding,
  type CrossEntropyOptions, type KlDivOptions,
} from './functional.ts';
export { attention, attentionComposite, repeatKv, klDivLogits, klDivLogitsComposite, addSteering } from './attention.ts';
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
