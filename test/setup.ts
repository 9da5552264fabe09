// Loaded before every test file: property tests use a fixed fast-check seed so CI is
// reproducible; set FC_SEED to explore other seeds locally.
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20241128) });
