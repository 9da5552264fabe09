// Helpers both tokenizers share: text and id checks, special-token splitting, and the parts of
// tokenizer_config.json (special tokens, chat_template) they read.
import { TokenizerLoadError } from './interface.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace lone UTF-16 surrogates with U+FFFD (what TextEncoder does); they have no UTF-8 form. */
export function wellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

export function checkIds(ids: readonly number[], vocabSize: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`token id ${id} is out of range [0, ${vocabSize})`);
    }
  }
}

/** Split `text` at occurrences of any of `specials` (longest match first, left to right). */
export function splitOnSpecials(text: string, specials: ReadonlyMap<string, number>): (string | number)[] {
  if (specials.size === 0 || text.length === 0) return text.length ? [text] : [];
  const byFirst = new Map<string, string[]>();
  for (const s of specials.keys()) {
    if (!s) continue;
    const list = byFirst.get(s[0]!) ?? [];
    list.push(s);
    byFirst.set(s[0]!, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  const out: (string | number)[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const cands = byFirst.get(text[i]!);
    const hit = cands?.find((s) => text.startsWith(s, i));
    if (hit === undefined) {
      i++;
      continue;
    }
    if (i > start) out.push(text.slice(start, i));
    out.push(specials.get(hit)!);
    i += hit.length;
    start = i;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

export type TokenizerConfig = Record<string, unknown>;

/** A token given in tokenizer_config.json: a string or an AddedToken dict `{ content: ... }`. */
export function configTokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

/** `chat_template` may be a string or a list of `{ name, template }` (HF's named templates). */
export function configChatTemplate(config: TokenizerConfig | null, file: string): string | null {
  const t = config?.['chat_template'];
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const entries = t as { name?: unknown; template?: unknown }[];
    const pick = entries.find((e) => e?.name === 'default') ?? entries[0];
    if (pick && typeof pick.template === 'string') return pick.template;
  }
  throw new TokenizerLoadError(file, `chat_template in ${file} is neither a string nor a list of {name, template}`);
}
