// Every WGSL kernel's launcher, for tests, benchmarks and the kernel harness (`@kts/webgpu/kernels`).
// Each launcher plans one kernel's dispatches; its WGSL comes from @kts/kernels.
export * from './elementwise.ts';
export * from './adamw.ts';
export * from './attention.ts';
export * from './attention-backward-tiled.ts';
export * from './attention-decode.ts';
export * from './attention-forward-tiled.ts';
export * from './common.ts';
export * from './cross-entropy.ts';
export * from './kl.ts';
export * from './rmsnorm.ts';
export * from './rotary.ts';
export * from './rows.ts';
export * from './softmax.ts';
export * from './steering.ts';
export * from './gather.ts';
export * from './matmul.ts';
export * from './reduce.ts';
export * from './matmul-gemv.ts';
export * from './matmul-shape.ts';
export * from './matmul-tiled.ts';
