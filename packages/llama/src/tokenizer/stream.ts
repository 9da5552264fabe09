// Streaming detokenization for any Tokenizer.
import type { DecodeOptions, StreamDecoderOptions, Tokenizer } from './interface.ts';

/**
 * Incremental detokenizer: `push(id)` returns the text that became final with that token.
 * Works for any backend by decoding a short window and emitting the new suffix once it no longer
 * ends in an incomplete character (U+FFFD), as HF text-generation-inference does.
 */
export class StreamDecoder {
  private ids: number[];
  private prefixOffset: number;
  private readOffset: number;
  private readonly decodeOptions: DecodeOptions;

  constructor(private readonly tokenizer: Tokenizer, options: StreamDecoderOptions = {}) {
    this.decodeOptions = { skipSpecial: options.skipSpecial ?? true };
    const ctx = options.context ? options.context.slice(-4) : [];
    this.ids = [...ctx];
    this.prefixOffset = 0;
    this.readOffset = ctx.length;
  }

  push(id: number): string {
    this.ids.push(id);
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.decodeOptions);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.decodeOptions);
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return '';
  }

  /** Text still held back (an incomplete character at the end comes out as U+FFFD). */
  flush(): string {
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), this.decodeOptions);
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset), this.decodeOptions);
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}
