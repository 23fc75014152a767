import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ImageVariable = 'KAFKA_IMAGE' | 'POSTGRES_IMAGE' | 'NODE_IMAGE';

/** What a suite gets when nothing was built locally and nothing was configured. */
const OFFICIAL: Record<ImageVariable, string> = {
  KAFKA_IMAGE: 'apache/kafka:4.4.0',
  POSTGRES_IMAGE: 'postgres:15',
  NODE_IMAGE: 'node:24-bookworm-slim',
};

function readImagesEnv(workspaceRoot: string): Record<string, string> {
  const file = join(workspaceRoot, '.cache', 'images.env');
  if (!existsSync(file)) return {};
  const entries: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) entries[match[1]] = match[2].replace(/^['"]|['"]$/g, '');
  }
  return entries;
}

/**
 * The image to run for a part of the stack: the environment variable when set (point it at an
 * official image if you have a registry), else the one `tools/images/build.sh` built here, else
 * the official image.
 */
export function imageFor(variable: ImageVariable, workspaceRoot = process.cwd()): string {
  return process.env[variable] || readImagesEnv(workspaceRoot)[variable] || OFFICIAL[variable];
}
