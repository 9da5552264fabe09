/**
 * One kernel alone, as llm.c's dev/cuda: `npm run kernel -- <name> [--version N] [--shapes a,b]
 * [--threads N] [--no-check] [--no-time]` checks every version of the kernel (or version N)
 * against its float64 CPU reference on random inputs whose sizes are not tile multiples, then
 * times each version on a few shapes (median of several samples, each a batch of runs awaited
 * together) and marks the version the library picks on this device. `npm run kernel` lists the
 * kernels and their versions. WebGPU kernels go by the op's name (`matmul`), the CPU backend's by
 * `<op>-cpu` (`matmul-cpu`: the TypeScript loops as version 1, the WebAssembly SIMD kernels
 * after; `--threads N` sets their thread count). Kernels register in bench/kernels/index.ts
 * (bench/kernels/harness.ts has the contract).
 */
import { timeFn } from './lib.ts';
import { KERNELS } from './kernels/index.ts';
import { Rng, type KernelEntry, type KernelVersion } from './kernels/harness.ts';

function parseArgs(argv: string[]): { name?: string; flags: Record<string, string | boolean> } {
  const flags: Record<string, string | boolean> = {};
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      name = a;
      continue;
    }
    const eq = a.indexOf('=');
    if (eq >= 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') && ['version', 'shapes', 'threads'].includes(a.slice(2))) flags[a.slice(2)] = argv[++i]!;
    else flags[a.slice(2)] = true;
  }
  return { name, flags };
}

function list(): void {
  console.log('kernels (npm run kernel -- <name> [--version N] [--shapes …] [--threads N]):');
  for (const k of Object.values(KERNELS)) {
    console.log(`  ${k.name} (${k.backend}): ${k.about}`);
    for (const v of k.versions) console.log(`    ${v.version}  ${v.file}: ${v.about}`);
  }
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

async function run<S>(k: KernelEntry<S>, flags: Record<string, string | boolean>): Promise<boolean> {
  const only = flags.version !== undefined ? Number(flags.version) : null;
  const versions = k.versions.filter((v) => only === null || v.version === only);
  if (versions.length === 0) throw new Error(`${k.name}: no version ${String(flags.version)} (${k.versions.map((v) => v.version).join(', ')})`);
  const threads = flags.threads !== undefined ? Number(flags.threads) : undefined;
  console.log(`${k.name} on ${await k.init({ threads })}`);
  let ok = true;
  try {
    if (flags['no-check'] !== true) {
      console.log('check against the float64 CPU reference (worst |err| / tolerance, ≤ 1 passes):');
      for (const v of versions) {
        for (const s of k.checkShapes) {
          const why = v.unavailable?.(s);
          const label = `  v${v.version} ${pad(k.formatShape(s), 28)}`;
          if (why) {
            console.log(`${label} skipped: ${why}`);
            continue;
          }
          const inst = await v.setup(s, new Rng(1234));
          try {
            inst.run();
            await inst.sync();
            console.log(`${label} ok (${(await inst.check()).toFixed(3)})`);
          } catch (e) {
            ok = false;
            console.log(`${label} FAILED: ${(e as Error).message.split('\n')[0]}`);
          } finally {
            inst.dispose();
          }
        }
      }
    }
    if (flags['no-time'] !== true) {
      const shapes = typeof flags.shapes === 'string' ? flags.shapes.split(/[;, ]+(?=\S)/).filter((x) => x).map((t) => k.parseShape(t)) : k.timeShapes;
      console.log('time (median per run; * = the version the library picks here):');
      console.log(`  ${pad('shape', 28)} ${pad('version', 8)} ${pad('ms', 10)} ${pad('GFLOP/s', 9)} GB/s`);
      for (const s of shapes) for (const v of versions) await time(k, v, s);
    }
  } finally {
    k.close();
  }
  return ok;
}

async function time<S>(k: KernelEntry<S>, v: KernelVersion<S>, s: S): Promise<void> {
  const label = `  ${pad(k.formatShape(s), 28)} ${pad(`v${v.version}${k.current(s) === v.version ? '*' : ''}`, 8)}`;
  const why = v.unavailable?.(s);
  if (why) {
    console.log(`${label} skipped: ${why}`);
    return;
  }
  let inst;
  try {
    inst = await v.setup(s, new Rng(99));
  } catch (e) {
    console.log(`${label} error: ${(e as Error).message.split('\n')[0]}`); // e.g. a buffer over the device's binding limit
    return;
  }
  try {
    // About 150 ms of work per sample.
    const t0 = performance.now();
    inst.run();
    await inst.sync();
    const once = performance.now() - t0;
    const reps = Math.max(1, Math.min(100, Math.round(150 / Math.max(once, 0.01))));
    const t = await timeFn(async () => {
      for (let r = 0; r < reps; r++) inst.run();
      await inst.sync();
    }, { method: 'median', minSamples: 5, maxSamples: 9, targetMs: 1200, warmup: 1 });
    const ms = t.medianMs / reps;
    const g = inst.flops ? (inst.flops / ms / 1e6).toFixed(1) : '';
    const b = inst.bytes ? (inst.bytes / ms / 1e6).toFixed(1) : '';
    console.log(`${label} ${pad(ms < 1 ? ms.toFixed(4) : ms.toFixed(2), 10)} ${pad(g, 9)} ${b}`);
  } finally {
    inst.dispose();
  }
}

const { name, flags } = parseArgs(process.argv.slice(2));
if (!name) list();
else {
  const k = KERNELS[name];
  if (!k) {
    console.error(`unknown kernel '${name}'; known: ${Object.keys(KERNELS).join(', ')}`);
    process.exitCode = 2;
  } else if (!(await run(k, flags))) process.exitCode = 1;
}
