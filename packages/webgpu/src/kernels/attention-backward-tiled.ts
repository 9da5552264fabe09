import type { Batch } from '../dispatch.ts';
import type { AttentionBackwardBuffers, AttentionShape } from './attention-shape.ts';
export function tiledBackwardFits(_s: AttentionShape, _d: GPUDevice): boolean { return false; }
export function attentionBackwardTiled(_b: AttentionBackwardBuffers, _s: AttentionShape, _batch: Batch): void { throw new Error('todo'); }
