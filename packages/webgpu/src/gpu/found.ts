// What ./node.ts and ./browser.ts each return: the adapter they found and how.

export type Backend = 'default' | 'opengles' | 'browser';

export interface FoundAdapter {
  /** The object the adapter came from; it must stay referenced while the device lives (Dawn). */
  gpu: GPU;
  adapter: GPUAdapter;
  /** Dawn's default backends or its OpenGL ES one, or a browser's navigator.gpu. */
  backend: Backend;
  /** 'compatibility' for an adapter that only offers WebGPU's compatibility mode (OpenGL ES). */
  featureLevel: 'core' | 'compatibility';
  /** Dawn flags passed to create() (none in a browser). */
  flags: string[];
}
