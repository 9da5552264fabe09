// Building a page that uses kts, and serving it, with esbuild: the playground and the browser tests do both.
//
// The "browser" export/import conditions of the four packages swap out their Node-only modules
// (file access, worker threads, Dawn); "source" bundles the TypeScript sources of this repository
// (drop it to bundle the built dist/). One dependency needs help: @sctg/sentencepiece-js (the
// SentencePiece wasm) imports `fs` and `module` for its Node code path, which never runs in a page,
// so they resolve to an empty module here.
import * as esbuild from 'esbuild';

const nodeOnlyInDependencies: esbuild.Plugin = {
  name: 'node-only-in-dependencies',
  setup(build) {
    build.onResolve({ filter: /^(fs|module)$/ }, (args) => ({ path: args.path, namespace: 'empty' }));
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};

export interface BundleOptions {
  /** Bundle the packages' TypeScript sources (the monorepo) rather than their built dist/. Default true. */
  sources?: boolean;
  minify?: boolean;
}

/** The esbuild options for a page script `entry` written to `outdir` (code-split: big modules load when first used). */
export function browserBuildOptions(entry: string, outdir: string, opts: BundleOptions = {}): esbuild.BuildOptions {
  return {
    entryPoints: { app: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: opts.sources === false ? [] : ['source'],
    plugins: [nodeOnlyInDependencies],
    sourcemap: true,
    minify: opts.minify ?? true,
    logLevel: 'warning',
    metafile: true,
  };
}

/** Builds `entry` for a browser into `outdir` (app.js plus chunks). */
export async function bundleForBrowser(entry: string, outdir: string, opts: BundleOptions = {}): Promise<esbuild.Metafile> {
  const result = await esbuild.build(browserBuildOptions(entry, outdir, opts));
  return result.metafile!;
}

/** Serves a folder on 127.0.0.1 with esbuild's file server (port 0: any free port). */
export async function serveStatic(dir: string, port = 0): Promise<{ url: string; stop: () => Promise<void> }> {
  const ctx = await esbuild.context({});
  const { port: bound } = await ctx.serve({ servedir: dir, host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${bound}/`, stop: () => ctx.dispose() };
}
