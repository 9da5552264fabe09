// What test/browser/checks.page.ts offers the Node side of browser.test.ts, as `globalThis.checks`.
import type { AdapterInfoSummary } from '@kts/webgpu';

export interface Checks {
  /** Initialises WebGPU (throws when the browser offers no adapter). */
  init(): Promise<{ description: string; info: AdapterInfoSummary }>;
  /** Every op golden case on WebGPU; the failures, if any. */
  goldens(): Promise<{ total: number; failures: string[] }>;
  /** Logits [T, V] of the default model, loaded from its folder URL, for one sequence. */
  logits(ids: number[]): Promise<number[]>;
  /** Greedy continuation of `ids` steered by the GGUF vector `gguf` (bytes) at `coeff`. */
  steered(ids: number[], gguf: number[], coeff: number, maxNewTokens: number): Promise<number[]>;
  /** Share of pixels unlike the most common one (the background) in a PNG given as base64. */
  ink(base64: string): Promise<number>;
}

/** The page's globals, for page.evaluate callbacks (`(globalThis as InPage).checks!`: they run in the page). */
export type InPage = { checks?: Checks };
