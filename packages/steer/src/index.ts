// @kts/steer: steering vectors, KL-then-steer (KTS) training and evaluation.
export * from './vector.ts';
export * from './gguf.ts';
export * from './data.ts';
export * from './batch.ts';
export * from './format.ts';
export * from './layers.ts';
export * from './lora.ts';
export * from './adapter.ts';
export * from './extract.ts';
export * from './kts.ts';
export * from './eval.ts';
export * from './sweep.ts';
export * from './report.ts';
export * from './progress.ts';
export * from './device.ts';
export type * from './model.ts';
