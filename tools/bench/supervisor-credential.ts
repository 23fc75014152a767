/**
 * What a supervisor credential check costs: the time of one scrypt verification at each cost, one
 * at a time and four at once (libuv's thread pool), and how long the event loop was held meanwhile
 * (the hash runs off it, so its delay should stay near zero).
 *
 *   TS_NODE_PROJECT=tsconfig.integration.json npx ts-node --transpile-only -r tsconfig-paths/register tools/bench/supervisor-credential.ts
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { hashCredential, parseCredentialHash, verifyCredential } from '@pos/service-runtime';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20);
const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  for (const N of [2 ** 14, 2 ** 15]) {
    const stored = parseCredentialHash(await hashCredential('246810', { N, r: 8, p: 1 }));
    for (const concurrency of [1, 4]) {
      const times: number[] = [];
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            const started = process.hrtime.bigint();
            await verifyCredential('135790', stored);
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
          }),
        );
      }
      loop.disable();
      times.sort((a, b) => a - b);
      console.log(
        `N=2^${Math.log2(N)} r=8 p=1, ${concurrency} at once: verification p50 ${percentile(times, 50).toFixed(1)} ms, ` +
          `p99 ${percentile(times, 99).toFixed(1)} ms; event loop delay max ${(loop.max / 1e6).toFixed(1)} ms`,
      );
    }
  }
}

void main();
