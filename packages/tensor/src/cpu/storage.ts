// CPU storage: a typed array (for float32 tensors usually a view of the WebAssembly heap, see alloc.ts).
import type { DType, Storage, TypedArray } from '../backend.ts';

export class CpuStorage implements Storage {
  readonly backend = 'cpu';
  constructor(readonly dtype: DType, readonly data: TypedArray) {}
  get length(): number {
    return this.data.length;
  }
}
