import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** The machine's CPU time so far, in clock ticks (Linux /proc/stat): busy, stolen by the hypervisor, all. */
export function cpuTicks(): { busy: number; steal: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** CPU time in clock ticks, by the part of the stack that spent it. */
export type CpuByPart = Map<string, number>;

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading
  }
}

/** user + system ticks of a process so far, from /proc/<pid>/stat, and its command name. */
function ticksOf(pid: string): { comm: string; ticks: number } | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name sits in parentheses and may contain spaces; the fields after it start at `state`.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
}

/**
 * Where the machine's CPU has gone so far, on Linux: the named processes (the services, the load
 * generator), and the PostgreSQL and Kafka processes of the test containers, told apart from the
 * machine's own services by their cgroup. Undefined where /proc is not there.
 */
export function cpuByPart(named: Readonly<Record<string, number>>): CpuByPart | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const names = new Map(Object.entries(named).map(([name, pid]) => [String(pid), name]));
  const parts: CpuByPart = new Map();
  const add = (part: string, ticks: number) => parts.set(part, (parts.get(part) ?? 0) + ticks);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const stat = ticksOf(pid);
    if (!stat) continue;
    const name = names.get(pid);
    if (name) add(name, stat.ticks);
    else if (readOrUndefined(`/proc/${pid}/cgroup`)?.includes('docker')) {
      if (stat.comm === 'postgres') add('PostgreSQL', stat.ticks);
      else if (stat.comm === 'java') add('Kafka', stat.ticks);
    }
  }
  return parts;
}

/** Each part's share of one core between two readings, e.g. "void service 66 %". */
export function describeCpu(before: CpuByPart, after: CpuByPart, seconds: number, ticksPerSecond = 100): string {
  return [...after]
    .map(([part, ticks]) => `${part} ${((100 * (ticks - (before.get(part) ?? 0))) / (seconds * ticksPerSecond)).toFixed(0)} %`)
    .join(', ');
}
