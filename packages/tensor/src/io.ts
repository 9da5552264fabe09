// Tensors ⇄ safetensors files (the raw format code is in safetensors.ts).
import * as ops from './ops.ts';
import { openCheckpoint, openSafetensors, parseSafetensors, writeSafetensors, type SafetensorsReader, type StDtype, type WritableTensor } from './safetensors.ts';
import type { Tensor } from './tensor.ts';
import type { TypedArray } from './backend.ts';
import { existsSync, statSync } from '#host';

export interface SaveOptions {
  metadata?: Record<string, string>;
  /** Store float tensors as this dtype (default: their own, F32 / F64). */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

/** Writes CPU tensors to a safetensors file atomically (temp file + rename); see saveTensorsAsync for any device. */
export function saveTensors(path: string, tensors: Record<string, Tensor>, opts: SaveOptions = {}): void {
  writeTensors(path, Object.entries(tensors).map(([name, t]) => [name, t, t.toArray()]), opts);
}

/** saveTensors for tensors on any backend (reads GPU tensors back asynchronously first). */
export async function saveTensorsAsync(path: string, tensors: Record<string, Tensor>, opts: SaveOptions = {}): Promise<void> {
  const rows: [string, Tensor, TypedArray][] = [];
  for (const [name, t] of Object.entries(tensors)) rows.push([name, t, await t.data()]);
  writeTensors(path, rows, opts);
}

function writeTensors(path: string, rows: [string, Tensor, TypedArray][], opts: SaveOptions): void {
  const out: Record<string, WritableTensor> = {};
  for (const [name, t, data] of rows) {
    const dtype: StDtype | undefined = t.dtype === 'float32' && opts.floatDtype ? opts.floatDtype : undefined;
    out[name] = { shape: [...t.shape], data, dtype };
  }
  writeSafetensors(path, out, opts.metadata);
}

export interface LoadOptions {
  names?: string[];
  device?: string;
  /** Float tensors are returned as float32 unless float64 is asked for. */
  dtype?: 'float32' | 'float64';
}

/**
 * Reads tensors from a safetensors file or a checkpoint folder (single or sharded), lazily:
 * only the requested tensors' bytes are read. F16/BF16 decode to float32, integers to int32.
 */
export function loadTensors(path: string, opts: LoadOptions = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return readTensors(existsSync(path) && statSync(path).isDirectory() ? openCheckpoint(path) : openSafetensors(path), opts);
}

/** loadTensors for the bytes of a safetensors file (fetched, dropped, or read by other means). */
export function loadTensorsFromBytes(bytes: Uint8Array, opts: LoadOptions = {}, label = '<memory>'): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return readTensors(parseSafetensors(bytes, label), opts);
}

/** The tensors of an open reader (closed afterwards). */
function readTensors(reader: SafetensorsReader, opts: LoadOptions): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  try {
    const tensors: Record<string, Tensor> = {};
    for (const name of opts.names ?? reader.names()) {
      const info = reader.info(name);
      const isInt = info.dtype === 'I32' || info.dtype === 'I64' || info.dtype === 'U8';
      const raw = reader.read(name, { as: isInt ? 'i32' : info.dtype === 'F64' ? undefined : 'f32' });
      const data = raw.data as Float32Array | Float64Array | Int32Array;
      const dtype = isInt ? 'int32' : (opts.dtype ?? (info.dtype === 'F64' ? 'float64' : 'float32'));
      tensors[name] = ops.fromTyped(data, info.shape, { dtype, device: opts.device });
    }
    return { tensors, metadata: reader.metadata };
  } finally {
    reader.close();
  }
}
