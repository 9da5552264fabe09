// Chat formatting for @kts/llama: render a tokenizer's `chat_template` (tokenizer_config.json)
// with @huggingface/jinja, or fall back to built-in Llama-2 `[INST]` or ChatML formats.
import { Template } from '@huggingface/jinja';
import type { Tokenizer } from './tokenizer/index.ts';
import { CHATML_CHAT_TEMPLATE, LLAMA2_CHAT_TEMPLATE } from './tokenizer/templates.ts';

export { CHATML_CHAT_TEMPLATE, LLAMA2_CHAT_TEMPLATE };

export interface ChatMessage {
  role: string;
  content: string;
}

/** Built-in formats, used when a tokenizer has no chat_template (or when asked for by name). */
export type ChatFormat = 'llama2' | 'chatml';

export interface ApplyChatTemplateOptions {
  /** Append the opening of an assistant turn (ChatML: `<|im_start|>assistant\n`). Default true. */
  addGenerationPrompt?: boolean;
  /**
   * Override the template: a built-in format name, or a Jinja template string.
   * Default: the tokenizer's chat_template, else the built-in format from `defaultChatFormat`.
   */
  template?: ChatFormat | string;
  /** Extra variables for a Jinja template. */
  variables?: Record<string, unknown>;
}

/** A chat template that failed to parse, render, or that called raise_exception. */
export class ChatTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatTemplateError';
  }
}

/** Which built-in format fits a tokenizer without a template: ChatML if it has `<|im_start|>`, else Llama-2. */
export function defaultChatFormat(tokenizer: Tokenizer): ChatFormat {
  return tokenizer.pieceToId('<|im_start|>') !== undefined ? 'chatml' : 'llama2';
}

// Python's str.strip() (what HF's Jinja2 sandbox runs for `content.strip()`): strips characters
// for which str.isspace() holds. JavaScript's trim() differs: it strips U+FEFF but not
// U+001C..U+001F or U+0085.
const PY_SPACE = '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
export function pythonStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE.includes(s[a]!)) a++;
  while (b > a && PY_SPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/**
 * Llama-2 chat format, identical to rendering meta-llama/Llama-2-*-chat-hf's chat_template
 * with Python Jinja2: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] ...`.
 * As in that template, `addGenerationPrompt` changes nothing (a user turn already ends in `[/INST]`).
 */
export function renderLlama2Chat(messages: readonly ChatMessage[], bosToken = '<s>', eosToken = '</s>'): string {
  let loop = messages;
  let system: string | false = false;
  if (messages[0]?.role === 'system') {
    system = messages[0].content;
    loop = messages.slice(1);
  }
  let out = '';
  loop.forEach((m, i) => {
    if ((m.role === 'user') !== (i % 2 === 0)) {
      throw new ChatTemplateError('chat template (built-in llama2) raised: Conversation roles must alternate user/assistant/user/assistant/...');
    }
    const content = i === 0 && system !== false ? `<<SYS>>\n${system}\n<</SYS>>\n\n${m.content}` : m.content;
    if (m.role === 'user') out += `${bosToken}[INST] ${pythonStrip(content)} [/INST]`;
    else if (m.role === 'assistant') out += ` ${pythonStrip(content)} ${eosToken}`;
  });
  return out;
}

/** ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`. */
export function renderChatML(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let out = '';
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

const templateCache = new Map<string, Template>();

/** Render a Jinja chat template as HF's `apply_chat_template(..., tokenize=False)` does. */
export function renderJinjaChatTemplate(
  template: string,
  variables: { messages: readonly ChatMessage[]; bos_token?: string | null; eos_token?: string | null; add_generation_prompt?: boolean } & Record<string, unknown>,
  source = 'chat_template',
): string {
  let t = templateCache.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new ChatTemplateError(`chat template (${source}) does not parse: ${(e as Error).message}`, { cause: e });
    }
    if (templateCache.size > 32) templateCache.clear();
    templateCache.set(template, t);
  }
  try {
    return t.render({ bos_token: '', eos_token: '', add_generation_prompt: false, ...variables });
  } catch (e) {
    throw new ChatTemplateError(`chat template (${source}) raised: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Render `messages` to text with the tokenizer's chat template (Jinja, via @huggingface/jinja,
 * with `messages`, `bos_token`, `eos_token`, `add_generation_prompt` and `raise_exception`), or
 * the built-in Llama-2 / ChatML format when the tokenizer has none.
 * Encode the result with `tokenizer.encode(text, { bos: false, parseSpecial: true })`, or use `encodeChat`.
 */
export function applyChatTemplate(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: ApplyChatTemplateOptions = {},
): string {
  const { addGenerationPrompt = true, template, variables = {} } = options;
  const bos = tokenizer.bosToken ?? '';
  const eos = tokenizer.eosToken ?? '';
  const chosen = template ?? tokenizer.chatTemplate ?? defaultChatFormat(tokenizer);
  if (chosen === 'llama2') return renderLlama2Chat(messages, bos, eos);
  if (chosen === 'chatml') return renderChatML(messages, addGenerationPrompt);
  const source = template !== undefined ? 'given template' : `chat_template of ${tokenizer.source}`;
  return renderJinjaChatTemplate(
    chosen,
    { ...variables, messages, bos_token: bos, eos_token: eos, add_generation_prompt: addGenerationPrompt },
    source,
  );
}

/** `applyChatTemplate` then encode, parsing special tokens in the text and adding no BOS (the template has it). */
export function encodeChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], options: ApplyChatTemplateOptions = {}): number[] {
  return tokenizer.encode(applyChatTemplate(tokenizer, messages, options), { bos: false, eos: false, parseSpecial: true });
}

/** Whether prompts for this tokenizer use Llama-2's `[INST]` format. */
export function usesLlama2Format(tokenizer: Tokenizer): boolean {
  const t = tokenizer.chatTemplate;
  if (t === null) return defaultChatFormat(tokenizer) === 'llama2';
  return t.includes('[INST]') && t.includes('[/INST]');
}

export interface PromptAnswerParts {
  /** Text up to where the answer starts. */
  prefix: string;
  /** `prefix + answer`. */
  text: string;
}

/**
 * The steering paper's prompt/answer format. For Llama-2 chat (no system prompt, no BOS in the
 * text: `encode` adds it): `[INST] {prompt}\nAnswer: [/INST] {answer}`.
 * For other tokenizers: the chat template rendered for one user turn with the generation prompt,
 * then the answer (encode with `parseSpecial: true`, `bos: false` if the template writes the BOS).
 */
export function formatPromptAnswerParts(tokenizer: Tokenizer, prompt: string, answer: string): PromptAnswerParts {
  if (usesLlama2Format(tokenizer)) {
    const prefix = `[INST] ${prompt}\nAnswer: [/INST]`;
    return { prefix, text: `${prefix} ${answer}` };
  }
  const prefix = applyChatTemplate(tokenizer, [{ role: 'user', content: prompt }], { addGenerationPrompt: true });
  return { prefix, text: prefix + answer };
}

export function formatPromptAnswer(tokenizer: Tokenizer, prompt: string, answer: string): string {
  return formatPromptAnswerParts(tokenizer, prompt, answer).text;
}
