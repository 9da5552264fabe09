#!/usr/bin/env node
// The kts CLI, from the package's built JavaScript (`npm run build`). In the monorepo,
// `npm run kts -- …` runs the TypeScript sources instead. @kts/webgpu/quiet first: it re-runs
// the CLI with Dawn's native warnings filtered out of stderr (unless --verbose or KTS_DEBUG=1).
await import('@kts/webgpu/quiet');
await import('../dist/cli.js');
