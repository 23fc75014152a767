import { runCli } from './app/cli';

/**
 * `npm run ops -- <command>`: the operator CLI. Output goes to stdout, diagnostics to stderr, and the
 * exit code says what happened (see app/exit-codes.ts).
 */
async function main(): Promise<void> {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const code = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signal: stop.signal,
  });
  // kafkajs may keep reconnect timers alive after a failed connection; the answer is already written.
  process.exit(code);
}

void main();
