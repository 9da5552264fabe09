/**
 * Hides Dawn's native start-up warnings ("Couldn't load Vulkan…", "maxDynamic…BuffersPerPipelineLayout
 * artificially reduced…"). Dawn prints them with fprintf to the process's stderr, below anything
 * JavaScript can intercept, and no Dawn flag or toggle turns them off; so a program that imports
 * this module first (`node --import @kts/webgpu/quiet app.js`, or `await import('@kts/webgpu/quiet')`
 * at the top of a bin) is run again as a child whose stderr passes through `DawnWarningFilter`:
 * exactly those warnings are dropped, every other byte passes unchanged, and the parent exits
 * with the child's status. A terminal on stderr is handed to the child as file descriptor
 * KTS_TERMINAL_FD (3) for live progress bars.
 *
 * Off (the program runs in this process, warnings and all) with `--verbose`, KTS_DEBUG=1, and
 * inside the child. Node only.
 */
import { spawn } from 'node:child_process';
import { DawnWarningFilter } from './dawn-warnings.ts';

/** Whether this process should re-run itself filtered. */
function wanted(): boolean {
  return process.env.KTS_QUIET_CHILD !== '1' && process.env.KTS_DEBUG !== '1' && !process.argv.includes('--verbose');
}

async function runFiltered(): Promise<never> {
  const terminal = process.stderr.isTTY === true;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe', terminal ? 2 : 'ignore'],
    env: { ...process.env, KTS_QUIET_CHILD: '1', ...(terminal ? { KTS_TERMINAL_FD: '3' } : {}) },
  });
  // Ctrl-C reaches the child directly (same process group): let it finish (e.g. save a checkpoint).
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  const filter = new DawnWarningFilter();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => process.stderr.write(filter.push(chunk)));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  process.stderr.write(filter.end());
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
}

if (wanted()) await runFiltered();
