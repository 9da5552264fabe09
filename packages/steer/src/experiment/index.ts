// The KTS experiment (issue 10's protocol): `kts experiment`, `npm run experiment`, `npm run demo`.
export * from './config.ts';
export * from './data.ts';
export * from './vectors.ts';
export * from './measure.ts';
export * from './stats.ts';
export * from './plots.ts';
export * from './run.ts';
export * from './summarize.ts';
