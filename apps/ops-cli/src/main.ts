import { runCli } from './app/cli';

/**
 * `npm run --silent ops -- <command>`: the operator CLI (docs/ops-cli.md). Output goes to stdout,
 * diagnostics to stderr, and the exit code says what happened (see app/exit-codes.ts).
 */
async function main(): Promise<void> {
  const stop = new AbortController();
  // Only the first signal is ours to handle: a second Ctrl-C gets Node's default, an immediate end.
  process.once('SIGINT', () => stop.abort('SIGINT'));
  process.once('SIGTERM', () => stop.abort('SIGTERM'));
  const code = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signal: stop.signal,
    readInput: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  });
  // kafkajs may keep reconnect timers alive after a failed connection, and a stopped follower's
  // reader may still be leaving its throwaway group; the answer is already written.
  process.exit(code);
}

void main();
