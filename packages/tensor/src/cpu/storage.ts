// CPU storage: a typed array (for float32 tensors usually a view of the WebAssembly heap, see alloc.ts).
import type { DType, Storage, TypedArray } from '../backend.ts';

export class CpuStorage implements Storage {
  readonly backend = 'cpu';
  private _data: TypedArray | null;
  constructor(readonly dtype: DType, data: TypedArray) {
    this._data = data;
  }
  /** The elements; throws once the storage was released (its heap block may hold another tensor). */
  get data(): TypedArray {
    if (this._data === null) throw new Error(`cpu: a ${this.dtype} tensor was used after its storage was released (tidy() or dispose())`);
    return this._data;
  }
  get length(): number {
    return this.data.length;
  }
  /** Detaches the array (the backend's dispose returns it to the heap); later reads throw. */
  release(): TypedArray | null {
    const d = this._data;
    this._data = null;
    return d;
  }
}
