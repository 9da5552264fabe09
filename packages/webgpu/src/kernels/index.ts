// Every WGSL kernel's launcher, for tests, benchmarks and the kernel harness (`@kts/webgpu/kernels`).
// Each launcher plans one kernel's dispatches; its WGSL comes from @kts/kernels.
export * from './elementwise.ts';
export * from './fused-adamw.ts';
export * from './fused-attention.ts';
export * from './fused-common.ts';
export * from './fused-cross-entropy.ts';
export * from './fused-kl.ts';
export * from './fused-rmsnorm.ts';
export * from './fused-rotary.ts';
export * from './fused-rows.ts';
export * from './fused-softmax.ts';
export * from './fused-steering.ts';
export * from './gather.ts';
export * from './matmul.ts';
export * from './reduce.ts';
