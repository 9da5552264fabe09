// Turning dataset records into model input text.
import { applyChatTemplate, formatPromptAnswer, type Tokenizer, usesLlama2Format } from '@kts/llama';
import type { TokenizerLike } from './model.ts';

/** A chat formatter: (prompt, answer) → text the model sees (answer may be empty: generation prompt). */
export type ChatFormatter = (prompt: string, answer: string) => string;


export interface Formatted {
  text: string;
  /** Character offset where the answer begins (answer-mean extraction averages from there). */
  answerStart: number;
}

export function formatPair(format: ChatFormatter | null, prompt: string | undefined, answer: string): Formatted {
  if (prompt === undefined) {
    if (!format) return { text: answer, answerStart: 0 };
    const text = format(answer, '');
    return { text, answerStart: 0 };
  }
  if (!format) return { text: prompt + answer, answerStart: prompt.length };
  const prefix = format(prompt, '');
  const text = format(prompt, answer);
  return { text, answerStart: text.startsWith(prefix) ? prefix.length : text.length - answer.length };
}

/** Token ids for a formatted text, and the index of the first answer token. */
export function tokenizeFormatted(tok: TokenizerLike, f: Formatted): { ids: number[]; answerFrom: number } {
  const ids = tok.encode(f.text, { bos: true, parseSpecial: true });
  if (f.answerStart === 0) return { ids, answerFrom: 0 };
  const prefixIds = tok.encode(f.text.slice(0, f.answerStart), { bos: true, parseSpecial: true });
  return { ids, answerFrom: Math.min(prefixIds.length, ids.length - 1) };
}

/**
 * The (prompt, answer) formatter for a tokenizer: the paper's Llama-2 format when the
 * tokenizer is Llama-2's, else its chat template (one user turn + generation prompt) followed
 * by the answer. The template's leading BOS text is dropped (encode adds BOS), and a space
 * separates answer and prompt when the template ends mid-line (e.g. "Assistant:").
 */
export function chatFormatterFor(tok: Tokenizer): ChatFormatter {
  // Llama-2: the paper's `[INST] {prompt}\nAnswer: [/INST] {answer}` (@kts/llama's formatPromptAnswer).
  if (usesLlama2Format(tok)) return (prompt, answer) => formatPromptAnswer(tok, prompt, answer);
  return (prompt, answer) => {
    let prefix = applyChatTemplate(tok, [{ role: 'user', content: prompt }], { addGenerationPrompt: true });
    if (tok.bosToken && prefix.startsWith(tok.bosToken)) prefix = prefix.slice(tok.bosToken.length);
    if (!answer) return prefix;
    return prefix + (/[\s]$/.test(prefix) ? '' : ' ') + answer;
  };
}
