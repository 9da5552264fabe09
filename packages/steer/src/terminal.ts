// Where progress goes on Node: stderr, with cli-progress's live bar when stderr is a terminal (not
// in CI). A browser bundle uses ./terminal-browser.ts instead (package.json "imports": "#terminal").
import tty from 'node:tty';
import cliProgress from 'cli-progress';

/** Anything progress lines can be written to (process.stderr fits). */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface LiveBar {
  update(done: number, payload: Record<string, string>): void;
  stop(): void;
}

let terminal: tty.WriteStream | undefined;

/**
 * stderr; or, under @kts/webgpu/quiet (stderr then is a pipe through its filter), the terminal it
 * hands over on KTS_TERMINAL_FD, so that the live bar still draws.
 */
export function progressSink(): ProgressSink {
  const fd = Number(process.env.KTS_TERMINAL_FD);
  if (Number.isInteger(fd) && fd > 2 && tty.isatty(fd)) return (terminal ??= new tty.WriteStream(fd));
  return process.stderr;
}

/** A live bar on a terminal; null elsewhere (then Progress writes lines). */
export function liveBar(label: string, total: number, sink: ProgressSink): LiveBar | null {
  if (!(sink instanceof tty.WriteStream) || !sink.isTTY || process.env.CI) return null;
  const bar = new cliProgress.SingleBar({
    stream: sink,
    format: `${label} [{bar}] {value}/{total} | loss {loss} | {tps} tok/s | ETA {eta_formatted}`,
    hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, { loss: '-', tps: '-' });
  return bar;
}
