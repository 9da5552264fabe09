// Run with plain `node` (no tsx) in a fresh project where the five packed tarballs are installed:
// every public package imports from its built JavaScript. Argument: the repository (for
// models/default and data/). Prints one JSON line for package.test.ts.
import { join } from 'node:path';
import { nn, optim, tensor } from '@kts/tensor';
import { initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { generate, loadModel, loadTokenizer } from '@kts/llama';
import { batchSteer, extractVector, loadPairs } from '@kts/steer';

const repo = process.argv[2];
const out = {};

// One autograd step.
const x = tensor([[0.5, -1], [2, 0.25]]);
const y = tensor([[1], [0]]);
const lin = new nn.Linear(2, 1);
const opt = new optim.AdamW(lin.parameters(), { lr: 0.1 });
const loss = () => lin.forward(x).sub(y).square().mean();
const before = loss().item();
loss().backward();
opt.step();
out.lossBefore = before;
out.lossAfter = loss().item();

// The WebGPU kernels travel inside the package: one op on the device when there is an adapter.
try {
  out.webgpu = await initWebGPU();
  out.webgpuSum = await tensor([1, 2, 3], { device: 'webgpu' }).mul(2).sum().itemAsync();
  shutdownWebGPU();
} catch (e) {
  out.webgpu = null;
  out.webgpuError = e.message;
}

// Load the default model, extract a vector, generate steered and unsteered.
const dir = join(repo, 'models/default');
const model = await loadModel(dir);
const tok = await loadTokenizer(dir);
const { pairs } = loadPairs(join(repo, 'data/sentiment_pairs.jsonl'));
const vector = await extractVector(model, tok, pairs.slice(0, 8), { layers: [1, 2], method: 'mean-diff' });
out.vectorLayers = vector.layers;
out.vectorDim = vector.dim;
const prompt = tok.encode('User: Tell me a story about the sea.\nAssistant:');
const [plain, steered] = await generate(model, [prompt, prompt], { maxNewTokens: 12, steer: batchSteer(vector, vector.layers, [0, 8]) });
out.plain = tok.decode(plain);
out.steered = tok.decode(steered);
console.log(JSON.stringify(out));
