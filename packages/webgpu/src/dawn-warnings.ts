// Dawn's start-up warnings, recognised in a text stream so they can be dropped (see ./quiet.ts:
// Dawn prints them from native code, where nothing else can catch them).

/**
 * Start-up noise (an allow-list: any other message, e.g. a validation error, passes): Dawn without
 * a Vulkan loader, Dawn lowering limits, Dawn refusing Mesa's lavapipe, and lavapipe itself
 * looking for a display.
 */
const WARNING = new RegExp('^(' + [
  "Warning: Couldn't load Vulkan",
  'Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced',
  'Warning: Vulkan shaderUniform\\*ArrayDynamicIndexing required',
  'error: XDG_RUNTIME_DIR is invalid or not set in the environment\\.$',
].join('|') + ')');
/** What Dawn appends to some warnings: context (" - While …"), the source location, then a blank line. */
const LOCATION = /^( - While .*| {4}at \S+ \(.*\))$/;

/** Drops Dawn's start-up warnings from a text stream, line by line; partial lines pass at once unless they may start one. */
export class DawnWarningFilter {
  private held = '';
  /** Inside a dropped warning: after its first line, or after its location line. */
  private state: 'none' | 'warning' | 'location' = 'none';

  push(chunk: string): string {
    const lines = (this.held + chunk).split('\n');
    this.held = lines.pop()!;
    let out = '';
    for (const line of lines) if (this.keep(line)) out += `${line}\n`;
    // A partial line that could still become a warning waits for its end; anything else (a
    // progress bar redrawn with \r, a prompt) goes out now.
    const mayBeDawn = ['Warning: ', 'error: XDG'].some((p) => p.startsWith(this.held.slice(0, p.length)))
      || (this.state !== 'none' && ['    at ', ' - While '].some((p) => p.startsWith(this.held.slice(0, p.length))));
    if (this.held !== '' && !mayBeDawn) {
      out += this.held;
      this.held = '';
    }
    return out;
  }

  /** What is still held back, at the end of the stream. */
  end(): string {
    const rest = this.held;
    this.held = '';
    return rest !== '' && this.keep(rest) ? rest : '';
  }

  private keep(line: string): boolean {
    if (WARNING.test(line)) this.state = 'warning';
    else if (this.state !== 'none' && LOCATION.test(line)) this.state = 'location';
    else if (this.state === 'location' && line === '') this.state = 'none';
    else {
      this.state = 'none';
      return true;
    }
    return false;
  }
}
