// Loading a tokenizer: from a model folder on disk (Node), or from any set of files — a folder URL,
// dropped Files, ArrayBuffers (loadTokenizerFrom). Both read the optional tokenizer_config.json
// (special tokens, chat_template) and build the tokenizer the same way (`fromContents`).
import { type Files, fileSource, pathIn } from '@kts/tensor';
import { dirname, existsSync, join, readFileSync, statSync } from '@kts/tensor/host';
import { type TokenizerConfig, configChatTemplate } from './common.ts';
import { HfJsonTokenizer } from './hf-json.ts';
import { type Tokenizer, TokenizerLoadError } from './interface.ts';
import { SentencePieceTokenizer } from './sentencepiece.ts';

export interface LoadTokenizerOptions {
  /** Which file to use when a folder has both tokenizer.model and tokenizer.json. Default 'sentencepiece'. */
  prefer?: 'sentencepiece' | 'json';
}

const CONFIG_FILE = 'tokenizer_config.json';

function fileOrder(options: LoadTokenizerOptions): string[] {
  return options.prefer === 'json' ? ['tokenizer.json', 'tokenizer.model'] : ['tokenizer.model', 'tokenizer.json'];
}

function parseJson(file: string, bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new TokenizerLoadError(file, `${what} ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** A tokenizer from its file's contents (`tokenizer.model`, or `*.json`) and tokenizer_config.json's (or null). */
async function fromContents(file: string, bytes: Uint8Array, configFile: string, configBytes: Uint8Array | null): Promise<Tokenizer> {
  let config: TokenizerConfig | null = null;
  if (configBytes !== null) {
    const json = parseJson(configFile, configBytes, 'tokenizer config');
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      throw new TokenizerLoadError(configFile, `tokenizer config ${configFile} must be a JSON object`);
    }
    config = json as TokenizerConfig;
  }
  const chatTemplate = configChatTemplate(config, configFile);
  if (file.endsWith('.json')) return HfJsonTokenizer.fromJson(parseJson(file, bytes, 'tokenizer file'), file, config, chatTemplate);
  return SentencePieceTokenizer.fromBytes(bytes, file, config, chatTemplate);
}

function readBytes(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TokenizerLoadError(file, `cannot read ${what}${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Load a tokenizer from a model folder (`tokenizer.model` and/or `tokenizer.json`, plus an optional
 * `tokenizer_config.json`), or from a path to one of those two files directly.
 * Prefers `tokenizer.model` (exact parity with Python sentencepiece) unless `prefer: 'json'`.
 */
export async function loadTokenizer(dirOrFile: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  let dir = dirOrFile;
  let file: string | undefined;
  if (existsSync(dirOrFile) && statSync(dirOrFile).isFile()) {
    dir = dirname(dirOrFile);
    file = dirOrFile;
  } else {
    if (!existsSync(dirOrFile)) throw new TokenizerLoadError(dirOrFile, `tokenizer folder ${dirOrFile} does not exist`);
    file = fileOrder(options).map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!file) throw new TokenizerLoadError(dirOrFile, `no tokenizer.model or tokenizer.json in ${dirOrFile}`);
  }
  const configFile = join(dir, CONFIG_FILE);
  const configBytes = existsSync(configFile) ? readBytes(configFile, 'tokenizer config ') : null;
  return fromContents(file, readBytes(file, file.endsWith('.json') ? 'tokenizer file ' : ''), configFile, configBytes);
}

/**
 * Load a tokenizer from a folder URL, dropped Files, ArrayBuffers by file name, or any FileSource
 * (see `Files` in @kts/tensor): the same files and rules as `loadTokenizer`.
 */
export async function loadTokenizerFrom(files: Files, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const src = fileSource(files);
  for (const name of fileOrder(options)) {
    const bytes = await src.read(name);
    if (bytes) return fromContents(pathIn(src, name), bytes, pathIn(src, CONFIG_FILE), await src.read(CONFIG_FILE));
  }
  throw new TokenizerLoadError(src.name, `no tokenizer.model or tokenizer.json in ${src.name || 'the given files'}`);
}
