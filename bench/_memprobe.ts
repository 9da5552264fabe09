import { Generator, setCpuThreads } from '@kts/tensor';
import { SteeringVector, trainKTS, type SteerableModel } from '@kts/steer';
import { stories15m } from './stories15m.ts';
import { wasmRuntime } from '../packages/tensor/src/cpu/wasm/runtime.ts';
setCpuThreads(1);
const g = new Generator(3);
const benign = Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => g.int(32000)));
const vector = new SteeringVector(new Map([1, 2].map((l) => [l, Float32Array.from({ length: 288 }, () => 0.5 * g.normal())])));
const model = stories15m('cpu') as unknown as SteerableModel;
const rt = wasmRuntime();
const { history } = await trainKTS(model, benign, [vector], { steps: 4, layers: [1, 2], batchSize: 8, prob: 1, device: 'cpu', rank: 8, maxTokens: 64,
  onStep: () => { const m = process.memoryUsage(); console.log('ab MB', (m.arrayBuffers / 2 ** 20).toFixed(0), 'heap inUse MB', rt ? (rt.heap.stats.bytesInUse / 2 ** 20).toFixed(0) : '-', rt?.heap.stats.reused); } });
console.log(history.map((h) => h.seconds));
