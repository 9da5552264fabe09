// LoRA adapters on a model's linear layers: attach, switch on/off, save, export for PEFT, merge.
import { nn, noGrad, type Tensor, Generator } from '@kts/tensor';

export const DEFAULT_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LoRAConfig {
  rank: number;
  alpha: number;
  targets: string[];
  seed: number;
}

export interface AttachedLoRA {
  /** Dotted module path (HF naming, e.g. "model.layers.0.self_attn.q_proj") → adapter. */
  modules: Map<string, nn.LoRALinear>;
  config: LoRAConfig;
}

/** Walks module fields (and arrays of modules), calling fn(parent, key, child, path). */
function walk(m: nn.Module, path: string, fn: (parent: Record<string, unknown>, key: string, child: unknown, path: string) => void): void {
  for (const [key, value] of Object.entries(m)) {
    if (key.startsWith('_')) continue;
    const p = path ? `${path}.${key}` : key;
    if (value instanceof nn.Module) {
      fn(m as unknown as Record<string, unknown>, key, value, p);
      if (!(value instanceof nn.LoRALinear)) walk(value, p, fn);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (v instanceof nn.Module) {
          fn(value as unknown as Record<string, unknown>, String(i), v, `${p}.${i}`);
          walk(v, `${p}.${i}`, fn);
        }
      });
    }
  }
}

/** Replaces every nn.Linear whose field name is in `targets` by a LoRALinear; freezes everything else. */
export function attachLoRA(model: nn.Module, cfg: Partial<LoRAConfig> = {}): AttachedLoRA {
  const config: LoRAConfig = { rank: cfg.rank ?? 8, alpha: cfg.alpha ?? cfg.rank ?? 8, targets: cfg.targets ?? DEFAULT_TARGETS, seed: cfg.seed ?? 0 };
  for (const [, t] of model.namedParameters()) t.requiresGrad = false;
  const generator = new Generator(config.seed);
  const modules = new Map<string, nn.LoRALinear>();
  walk(model, '', (parent, key, child, path) => {
    if (child instanceof nn.Linear && config.targets.includes(key)) {
      const lora = new nn.LoRALinear(child, { rank: config.rank, alpha: config.alpha, generator });
      parent[key] = lora;
      modules.set(path, lora);
    }
  });
  if (modules.size === 0) throw new Error(`attachLoRA: no linear layer named ${config.targets.join(', ')} found`);
  return { modules, config };
}

export function setLoRAEnabled(lora: AttachedLoRA, enabled: boolean): void {
  for (const m of lora.modules.values()) m.enabled = enabled;
}

export function loraParameters(lora: AttachedLoRA): Tensor[] {
  return [...lora.modules.values()].flatMap((m) => [m.lora_A, m.lora_B]);
}

/** Adapter weights under kts names: "<path>.lora_A" / "<path>.lora_B". */
export function loraStateDict(lora: AttachedLoRA): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [path, m] of lora.modules) {
    out[`${path}.lora_A`] = m.lora_A.detach();
    out[`${path}.lora_B`] = m.lora_B.detach();
  }
  return out;
}

export function loadLoRAStateDict(lora: AttachedLoRA, sd: Record<string, Tensor>, label = 'adapter'): void {
  for (const [path, m] of lora.modules) {
    for (const part of ['lora_A', 'lora_B'] as const) {
      const src = sd[`${path}.${part}`];
      if (!src) throw new Error(`${label}: missing tensor '${path}.${part}'`);
      const dst = m[part];
      if (src.shape.join() !== dst.shape.join()) throw new Error(`${label}: '${path}.${part}' has shape [${src.shape}], the model needs [${dst.shape}]`);
      dst.backend.assign(dst, src.to(dst.device).cast(dst.dtype));
    }
  }
}

/** PEFT key for a kts adapter tensor: base_model.model.<path>.lora_A.weight. */
export function peftKey(path: string, part: 'lora_A' | 'lora_B'): string {
  return `base_model.model.${path}.${part}.weight`;
}

/** Folds the adapters into the base weights: W ← W + (alpha/r)·B·A, and detaches them. */
export function mergeLoRA(model: nn.Module, lora: AttachedLoRA): void {
  noGrad(() => {
    walk(model, '', (parent, key, child) => {
      if (!(child instanceof nn.LoRALinear)) return;
      const w = child.base.weight;
      const merged = w.add(child.lora_B.matmul(child.lora_A).mul(child.scaling));
      w.backend.assign(w, merged);
      parent[key] = child.base;
    });
  });
  lora.modules.clear();
}
