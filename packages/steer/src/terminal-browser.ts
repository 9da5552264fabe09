// Where progress goes in a browser: the console, one line per update (no live bar). Selected over
// ./terminal.ts by the "browser" condition of @kts/steer's "#terminal" import.
import type { LiveBar, ProgressSink } from './terminal.ts';

export type { LiveBar, ProgressSink };

export function progressSink(): ProgressSink {
  return { write: (text) => console.log(text.replace(/\n$/, '')) };
}

export function liveBar(_label: string, _total: number, _sink: ProgressSink): LiveBar | null {
  return null;
}
