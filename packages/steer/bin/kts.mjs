#!/usr/bin/env node
// The kts CLI, from the package's built JavaScript (`npm run build`). In the monorepo,
// `npm run kts -- …` runs the TypeScript sources instead.
await import('../dist/cli.js');
