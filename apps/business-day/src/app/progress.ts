/**
 * Live progress on a terminal (counts per kind and the next cutoff, redrawn in place); on anything
 * else (CI, a pipe) only phase changes and problems, one line each.
 */
export class Progress {
  private readonly counts = new Map<string, number>();
  private cutoffs: readonly number[] = [];
  private phaseName = '';
  private latest = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  private get live(): boolean {
    return Boolean(this.out.isTTY);
  }

  start(): void {
    if (this.live) this.timer = setInterval(() => this.draw(), 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.live) this.out.write('\n');
  }

  phase(name: string, cutoffs: readonly number[]): void {
    this.phaseName = name;
    this.cutoffs = cutoffs;
    if (!this.live) this.out.write(`[day] ${name}\n`);
  }

  count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  status(text: string): void {
    if (!this.live && text !== this.latest) this.out.write(`[day] ${text}\n`);
    this.latest = text;
  }

  problem(text: string): void {
    this.out.write(`${this.live ? '\n' : ''}[day] problem: ${text}\n`);
  }

  private draw(): void {
    const now = Date.now();
    const next = this.cutoffs.find((c) => c > now);
    const counts = [...this.counts].map(([kind, n]) => `${kind} ${n}`).join(' · ');
    const cutoff = next ? `next cutoff in ${Math.ceil((next - now) / 1000)} s` : '';
    this.out.write(`\r\x1b[2K[day] ${this.phaseName} | ${counts} | ${cutoff} ${this.latest ? `| ${this.latest}` : ''}`);
  }
}
