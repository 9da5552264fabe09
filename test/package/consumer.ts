// A TypeScript consumer written like the README's examples. package.test.ts type-checks it with
// `tsc --strict` against the packed packages' declarations; the monorepo's typecheck checks it
// against the sources. It is never run.
import { nn, optim, randn, tensor } from '@kts/tensor';
import { initWebGPU, shutdownWebGPU } from '@kts/webgpu';
import { type LlamaForCausalLM, type Tokenizer, generate, loadModel, loadModelFrom, loadTokenizer } from '@kts/llama';
import {
  type EvalModel, SteeringVector, chatFormatterFor, extractVector, formatPair, loadBenign, loadPairs, sideEffectKL, tokenizeFormatted, trainKTS,
} from '@kts/steer';

export async function autograd(): Promise<number[][]> {
  const x = tensor([[0.5, -1], [2, 0.25]]);
  const y = tensor([[1], [0]]);
  const model = new nn.Linear(2, 1);
  const opt = new optim.AdamW(model.parameters(), { lr: 0.1 });
  for (let step = 0; step < 50; step++) {
    const loss = model.forward(x).sub(y).square().mean();
    loss.backward();
    opt.step();
    opt.zeroGrad();
  }
  return model.forward(x).tolist() as number[][];
}

export async function onWebGPU(): Promise<number> {
  console.log(await initWebGPU());
  const a = randn([256, 256], { device: 'webgpu', requiresGrad: true });
  const loss = a.matmul(a.T).mul(1 / 256).softmax(-1).square().sum();
  loss.backward();
  const value = await loss.itemAsync();
  const grad: ArrayLike<number> = await a.grad!.data();
  shutdownWebGPU();
  return value + grad[0]!;
}

export async function llama(): Promise<string> {
  const model: LlamaForCausalLM = await loadModel('models/default');
  const tok: Tokenizer = await loadTokenizer('models/default');
  const prompt = tok.encode('User: Tell me a story about the sea.\nAssistant:');
  const [ids] = await generate(model, [prompt], { maxNewTokens: 40 });
  return tok.decode(ids!);
}

export async function steer(): Promise<number> {
  const model = await loadModel('models/default');
  const tok = await loadTokenizer('models/default');
  const { pairs } = loadPairs('data/sentiment_pairs.jsonl');
  const vector = await extractVector(model, tok, pairs, { layers: [1, 2], method: 'mean-diff' });
  vector.save('sentiment.gguf');
  const fmt = chatFormatterFor(tok);
  const benign = loadBenign('data/benign_train.jsonl').map((r) => tokenizeFormatted(tok, formatPair(fmt, r.prompt, r.response!)).ids);
  const { lora } = await trainKTS(model, benign, [vector], { steps: 60, layers: [1, 2], coeff: 6, prob: 0.5, lr: 2e-3 });
  const kts: EvalModel = { name: 'kts', model, lora };
  return sideEffectKL(kts, { vector, layers: [1, 2], coeff: 4 }, benign.slice(0, 8));
}

export async function inABrowser(file: File): Promise<SteeringVector> {
  const model = await loadModelFrom('models/default/');
  const vector = await SteeringVector.loadFrom(file);
  vector.checkFits(model.config);
  return vector;
}
