// Adapters on disk in PEFT's format, so `PeftModel.from_pretrained(hf_model, dir)` loads what
// kts trained: adapter_config.json + adapter_model.safetensors with keys like
// base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight ([r, in]) / lora_B.weight ([out, r]).
import { existsSync, join, mkdirSync, readFileSync } from '@kts/tensor/host';
import {
  type Files, type Tensor, fileSource, loadTensors, loadTensorsFromBytes, nn, pathIn, readRequired, saveTensorsAsync,
} from '@kts/tensor';
import { type AttachedLoRA, attachLoRA, loadLoRAStateDict, peftKey } from './lora.ts';
import { writeAtomic } from './report.ts';

export function peftConfig(lora: AttachedLoRA, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: lora.config.rank,
    lora_alpha: lora.config.alpha,
    lora_dropout: 0,
    target_modules: lora.config.targets,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    use_dora: false,
    revision: null,
  };
}

export async function savePeftAdapter(dir: string, lora: AttachedLoRA, baseModel: string, metadata: Record<string, string> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, Tensor> = {};
  for (const [path, m] of lora.modules) {
    tensors[peftKey(path, 'lora_A')] = m.lora_A.detach();
    tensors[peftKey(path, 'lora_B')] = m.lora_B.detach();
  }
  await saveTensorsAsync(join(dir, 'adapter_model.safetensors'), tensors, { metadata: { format: 'pt', ...metadata } });
  writeAtomic(join(dir, 'adapter_config.json'), `${JSON.stringify(peftConfig(lora, baseModel), null, 2)}\n`);
}

/** Attaches a saved PEFT LoRA adapter (a folder) to a (base) model. */
export function loadPeftAdapter(model: nn.Module, dir: string): AttachedLoRA {
  const cfgPath = join(dir, 'adapter_config.json');
  const weightsPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: no adapter_config.json (expected a PEFT LoRA adapter folder)`);
  return attachPeft(model, readFileSync(cfgPath, 'utf8'), cfgPath, loadTensors(weightsPath).tensors, weightsPath);
}

/** loadPeftAdapter from a folder URL, Files or bytes by file name (see `Files` in @kts/tensor). */
export async function loadPeftAdapterFrom(model: nn.Module, files: Files): Promise<AttachedLoRA> {
  const src = fileSource(files);
  const cfgPath = pathIn(src, 'adapter_config.json');
  const weightsPath = pathIn(src, 'adapter_model.safetensors');
  const cfgText = new TextDecoder().decode(await readRequired(src, 'adapter_config.json', 'a PEFT LoRA adapter config'));
  const { tensors } = loadTensorsFromBytes(await readRequired(src, 'adapter_model.safetensors', 'PEFT LoRA weights'), {}, weightsPath);
  return attachPeft(model, cfgText, cfgPath, tensors, weightsPath);
}

/** Checks a PEFT config (LoRA only), attaches adapters as it says and loads their weights. */
function attachPeft(model: nn.Module, cfgText: string, cfgPath: string, tensors: Record<string, Tensor>, weightsPath: string): AttachedLoRA {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(cfgText) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${cfgPath}: invalid JSON (${(e as Error).message})`);
  }
  if (cfg.peft_type !== 'LORA') throw new Error(`${cfgPath}: peft_type is ${String(cfg.peft_type)}, only LORA is supported`);
  if (cfg.use_dora || cfg.use_rslora) throw new Error(`${cfgPath}: DoRA / rsLoRA adapters are not supported`);
  const rank = Number(cfg.r);
  const alpha = Number(cfg.lora_alpha ?? rank);
  const targets = Array.isArray(cfg.target_modules) ? (cfg.target_modules as string[]) : String(cfg.target_modules).split(',');
  const lora = attachLoRA(model, { rank, alpha, targets });
  const sd: Record<string, Tensor> = {};
  for (const path of lora.modules.keys()) {
    for (const part of ['lora_A', 'lora_B'] as const) {
      const key = peftKey(path, part);
      const t = tensors[key] ?? tensors[key.replace('.weight', '.default.weight')];
      if (t) sd[`${path}.${part}`] = t;
    }
  }
  loadLoRAStateDict(lora, sd, weightsPath);
  return lora;
}
