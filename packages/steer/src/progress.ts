// Progress for long jobs: a live bar on a terminal (cli-progress), plain log lines otherwise
// (CI logs, pipes, a browser's console), both showing step, loss, tokens/s and ETA.
import { type LiveBar, type ProgressSink, liveBar, progressSink } from '#terminal';

export interface ProgressUpdate {
  loss?: number;
  tokens?: number;
  [key: string]: number | string | undefined;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private readonly bar: LiveBar | null;
  private readonly sink: ProgressSink;
  private start = performance.now();
  private tokens = 0;
  private lastLine = 0;

  constructor(private readonly label: string, private readonly total: number, private readonly opts: { every?: number; stream?: ProgressSink } = {}) {
    this.sink = opts.stream ?? progressSink();
    this.bar = liveBar(label, total, this.sink);
  }

  /** Marks step `done` (1-based) as finished. */
  update(done: number, u: ProgressUpdate = {}): void {
    this.tokens += u.tokens ?? 0;
    const elapsed = (performance.now() - this.start) / 1000;
    const tps = this.tokens / Math.max(elapsed, 1e-9);
    const loss = u.loss === undefined ? '-' : u.loss.toFixed(4);
    if (this.bar) {
      this.bar.update(done, { loss, tps: tps.toFixed(0) });
      return;
    }
    const every = this.opts.every ?? Math.max(1, Math.floor(this.total / 20));
    if (done === this.total || done - this.lastLine >= every || done === 1) {
      this.lastLine = done;
      const left = ((this.total - done) * elapsed) / done;
      const extra = Object.entries(u).filter(([k]) => k !== 'loss' && k !== 'tokens').map(([k, v]) => ` | ${k} ${typeof v === 'number' ? v.toFixed(4) : v}`).join('');
      const parts = [`${this.label} ${done}/${this.total}`];
      if (u.loss !== undefined) parts.push(`loss ${loss}`);
      if (this.tokens > 0) parts.push(`${tps.toFixed(0)} tok/s`);
      parts.push(`ETA ${eta(left)}`);
      this.sink.write(`${parts.join(' | ')}${extra}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
