// Chat templates for @kts/llama: Jinja rendering (@huggingface/jinja) of the official Llama-2
// template must equal the built-in Llama-2 fallback; ChatML; raise_exception; the paper's
// prompt/answer format.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyChatTemplate, encodeChat, formatPromptAnswer, formatPromptAnswerParts, renderLlama2Chat, renderChatML,
  renderJinjaChatTemplate, defaultChatFormat, pythonStrip, usesLlama2Format, ChatTemplateError,
  LLAMA2_CHAT_TEMPLATE, CHATML_CHAT_TEMPLATE, type ChatMessage, llama2Tokenizer, type Tokenizer,
} from '@kts/llama';

/** The same tokenizer with some properties replaced (methods still come from the original). */
function withProps(tok: Tokenizer, props: Partial<Record<keyof Tokenizer, unknown>>): Tokenizer {
  const descriptors: PropertyDescriptorMap = {};
  for (const [k, v] of Object.entries(props)) descriptors[k] = { value: v, enumerable: true };
  return Object.create(tok, descriptors) as Tokenizer;
}

const SYS: ChatMessage = { role: 'system', content: 'You are a helpful assistant.\nBe brief.' };
const U1: ChatMessage = { role: 'user', content: 'What is the capital of France?' };
const A1: ChatMessage = { role: 'assistant', content: 'Paris.' };
const U2: ChatMessage = { role: 'user', content: '  And of Japan?\n' };
const A2: ChatMessage = { role: 'assistant', content: '\tTokyo — 東京 🗼  ' };
const U3: ChatMessage = { role: 'user', content: 'Thanks! <3' };

const CONVERSATIONS: ChatMessage[][] = [
  [U1],
  [SYS, U1],
  [U1, A1],
  [U1, A1, U2],
  [SYS, U1, A1, U2],
  [SYS, U1, A1, U2, A2, U3],
  [U1, A1, U2, A2],
  [{ role: 'system', content: '  padded system  ' }, { role: 'user', content: '\n\nmulti\nline\n\n' }],
  [{ role: 'user', content: 'Ünïcödé ✓ 𝄞 مرحبا' }, { role: 'assistant', content: 'ok' }],
];

describe('Llama-2 chat template', () => {
  test('Jinja rendering of the official template equals the built-in fallback', () => {
    for (const messages of CONVERSATIONS) {
      const jinja = renderJinjaChatTemplate(LLAMA2_CHAT_TEMPLATE, { messages, bos_token: '<s>', eos_token: '</s>', add_generation_prompt: true });
      assert.equal(renderLlama2Chat(messages, '<s>', '</s>'), jinja, JSON.stringify(messages));
    }
  });

  test('exact strings in HF format', () => {
    assert.equal(renderLlama2Chat([U1]), '<s>[INST] What is the capital of France? [/INST]');
    assert.equal(
      renderLlama2Chat([SYS, U1]),
      '<s>[INST] <<SYS>>\nYou are a helpful assistant.\nBe brief.\n<</SYS>>\n\nWhat is the capital of France? [/INST]',
    );
    assert.equal(
      renderLlama2Chat([SYS, U1, A1, U2, A2, U3]),
      '<s>[INST] <<SYS>>\nYou are a helpful assistant.\nBe brief.\n<</SYS>>\n\nWhat is the capital of France? [/INST] Paris. </s>' +
        '<s>[INST] And of Japan? [/INST] Tokyo — 東京 🗼 </s><s>[INST] Thanks! <3 [/INST]',
    );
  });

  test('roles that do not alternate raise the template\'s exception, in Jinja and built-in', async () => {
    const tok = await llama2Tokenizer();
    const bad: ChatMessage[] = [U1, U2];
    assert.throws(() => applyChatTemplate(tok, bad), (e: unknown) => {
      assert.ok(e instanceof ChatTemplateError);
      assert.match(e.message, /built-in llama2.*Conversation roles must alternate/);
      return true;
    });
    assert.throws(() => applyChatTemplate(tok, bad, { template: LLAMA2_CHAT_TEMPLATE }), (e: unknown) => {
      assert.ok(e instanceof ChatTemplateError);
      assert.match(e.message, /given template.*Conversation roles must alternate/);
      return true;
    });
    assert.throws(() => renderLlama2Chat([A1]), /must alternate/);
  });

  test('tokenizer without a template uses the built-in Llama-2 format; with one, Jinja', async () => {
    const tok = await llama2Tokenizer();
    assert.equal(tok.chatTemplate, null);
    assert.equal(defaultChatFormat(tok), 'llama2');
    const withTemplate = withProps(tok, { chatTemplate: LLAMA2_CHAT_TEMPLATE });
    for (const messages of CONVERSATIONS) {
      assert.equal(applyChatTemplate(tok, messages), applyChatTemplate(withTemplate, messages));
    }
  });

  test('encodeChat parses <s> / </s> and matches Meta\'s per-turn encoding', async () => {
    const tok = await llama2Tokenizer();
    const ids = encodeChat(tok, [U1, A1, U2]);
    const turn1 = tok.encode('[INST] What is the capital of France? [/INST] Paris. ', { bos: true, eos: true });
    const turn2 = tok.encode('[INST] And of Japan? [/INST]', { bos: true });
    assert.deepEqual(ids, [...turn1, ...turn2]);
    assert.equal(ids.filter((i) => i === tok.bosId).length, 2);
  });

  test('an empty system prompt still gets a <<SYS>> block (Python Jinja2 semantics)', () => {
    // Python: '' != false is True. (@huggingface/jinja treats '' != false as false and drops the
    // block: a known divergence of that library, not of HF's template.)
    assert.equal(renderLlama2Chat([{ role: 'system', content: '' }, U1]), '<s>[INST] <<SYS>>\n\n<</SYS>>\n\nWhat is the capital of France? [/INST]');
  });

  test('pythonStrip follows str.strip()', () => {
    assert.equal(pythonStrip(' \t\n\r\u000b\u000cx y\u00a0\u3000\u2028'), 'x y');
    assert.equal(pythonStrip('\u001cx\u0085'), 'x');
    assert.equal(pythonStrip('\ufeffx\ufeff'), '\ufeffx\ufeff');
    assert.equal(pythonStrip('   '), '');
  });
});

describe('ChatML and custom templates', () => {
  const MSGS: ChatMessage[] = [SYS, U1, A1, U2];

  test('built-in ChatML output', () => {
    assert.equal(
      renderChatML([SYS, U1]),
      '<|im_start|>system\nYou are a helpful assistant.\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(renderChatML([U1], false), '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n');
  });

  test('Jinja ChatML template equals the built-in, with and without the generation prompt', async () => {
    const tok = await llama2Tokenizer();
    for (const addGenerationPrompt of [true, false]) {
      assert.equal(
        applyChatTemplate(tok, MSGS, { template: CHATML_CHAT_TEMPLATE, addGenerationPrompt }),
        applyChatTemplate(tok, MSGS, { template: 'chatml', addGenerationPrompt }),
      );
    }
  });

  test('a tokenizer with <|im_start|> and no template falls back to ChatML', async () => {
    const base = await llama2Tokenizer();
    const fake = withProps(base, { pieceToId: (p: string) => (p === '<|im_start|>' ? 32000 : base.pieceToId(p)) });
    assert.equal(defaultChatFormat(fake), 'chatml');
    assert.equal(applyChatTemplate(fake, MSGS), renderChatML(MSGS, true));
    assert.equal(usesLlama2Format(fake), false);
  });

  test('a template that calls raise_exception gives a clear error', async () => {
    const tok = withProps(await llama2Tokenizer(), {
      chatTemplate: "{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('Tool messages are not supported') }}{% endif %}{{ m['content'] }}{% endfor %}",
      source: '/models/x/tokenizer.model',
    });
    assert.equal(applyChatTemplate(tok, [U1]), U1.content);
    assert.throws(() => applyChatTemplate(tok, [U1, { role: 'tool', content: '{}' }]), (e: unknown) => {
      assert.ok(e instanceof ChatTemplateError);
      assert.equal(e.message, 'chat template (chat_template of /models/x/tokenizer.model) raised: Tool messages are not supported');
      return true;
    });
  });

  test('a template that does not parse gives a clear error', async () => {
    const tok = await llama2Tokenizer();
    assert.throws(() => applyChatTemplate(tok, [U1], { template: '{% if %}' }), (e: unknown) => {
      assert.ok(e instanceof ChatTemplateError);
      assert.match(e.message, /chat template \(given template\) does not parse/);
      return true;
    });
  });

  test('bos_token, eos_token, add_generation_prompt and extra variables reach the template', async () => {
    const tok = await llama2Tokenizer();
    const t = '{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ who }}|{{ messages | length }}';
    assert.equal(applyChatTemplate(tok, [U1, A1], { template: t, variables: { who: 'me' } }), '<s>|</s>|true|me|2');
    assert.equal(applyChatTemplate(tok, [U1], { template: t, addGenerationPrompt: false }), '<s>|</s>|false||1');
  });
});

describe('formatPromptAnswer', () => {
  let tok: Tokenizer;
  before(async () => {
    tok = await llama2Tokenizer();
  });

  test('Llama-2: the paper\'s [INST] {prompt}\\nAnswer: [/INST] {answer} format, no system prompt, no BOS text', () => {
    assert.equal(usesLlama2Format(tok), true);
    assert.equal(formatPromptAnswer(tok, 'Is the sky blue?', 'Yes.'), '[INST] Is the sky blue?\nAnswer: [/INST] Yes.');
    const withTemplate = withProps(tok, { chatTemplate: LLAMA2_CHAT_TEMPLATE });
    assert.equal(formatPromptAnswer(withTemplate, 'Q', 'A'), '[INST] Q\nAnswer: [/INST] A');
  });

  test('the prefix tokens are a prefix of the full tokens', () => {
    const { prefix, text } = formatPromptAnswerParts(tok, 'Name a color.', 'Blue, like the sea.');
    const p = tok.encode(prefix);
    const full = tok.encode(text);
    assert.deepEqual(full.slice(0, p.length), p);
    assert.equal(p[0], tok.bosId);
    assert.equal(tok.decode(full.slice(p.length)), 'Blue, like the sea.');
  });

  test('other templates: one rendered user turn with the generation prompt, then the answer', () => {
    const chatml = withProps(tok, { chatTemplate: CHATML_CHAT_TEMPLATE });
    assert.equal(usesLlama2Format(chatml), false);
    assert.equal(
      formatPromptAnswer(chatml, 'Q?', 'A.'),
      '<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nA.',
    );
  });
});
