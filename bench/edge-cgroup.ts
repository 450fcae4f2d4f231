// A cgroup with a CPU quota and a memory limit for the edge bench: cgroup v2 where the
// unified hierarchy has the controllers, else v1's cpu and memory hierarchies. We are root.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Cgroup {
  kind: 'v2' | 'v1';
  /** A shell line that moves the shell into the cgroup (prefix it to an exec). */
  enter: string;
  /** OOM kills inside the cgroup so far. */
  oomKills(): number;
  /** Peak memory charged to the cgroup (bytes), where the kernel says. */
  peakBytes(): number | null;
  remove(): void;
}

const write = (file: string, value: string) => fs.writeFileSync(file, value);
const num = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
const readOr = (file: string) => { try { return fs.readFileSync(file, 'utf8'); } catch { return ''; } };

export function makeCgroup(name: string, cpus: number, memoryBytes: number): Cgroup {
  const root = '/sys/fs/cgroup';
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) {
    const dir = path.join(root, name);
    write(path.join(root, 'cgroup.subtree_control'), '+cpu +memory');
    fs.mkdirSync(dir, { recursive: true });
    write(path.join(dir, 'cpu.max'), `${Math.round(cpus * 100000)} 100000`);
    write(path.join(dir, 'memory.max'), String(memoryBytes));
    write(path.join(dir, 'memory.swap.max'), '0');
    return {
      kind: 'v2', enter: `echo $$ > ${dir}/cgroup.procs`,
      oomKills: () => num(readOr(path.join(dir, 'memory.events')), 'oom_kill'),
      peakBytes: () => Number(readOr(path.join(dir, 'memory.peak')).trim()) || null,
      remove: () => { try { fs.rmdirSync(dir); } catch { /* still has a process */ } },
    };
  }
  const cpu = path.join(root, 'cpu', name);
  const mem = path.join(root, 'memory', name);
  fs.mkdirSync(cpu, { recursive: true });
  fs.mkdirSync(mem, { recursive: true });
  write(path.join(cpu, 'cpu.cfs_period_us'), '100000');
  write(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(cpus * 100000)));
  write(path.join(mem, 'memory.limit_in_bytes'), String(memoryBytes));
  try { write(path.join(mem, 'memory.memsw.limit_in_bytes'), String(memoryBytes)); } catch { /* no swap accounting */ }
  let kills = 0;
  return {
    kind: 'v1', enter: `echo $$ > ${cpu}/cgroup.procs && echo $$ > ${mem}/cgroup.procs`,
    // v1 says oom_kill in memory.oom_control on newer kernels; failcnt counts hits of the limit.
    oomKills: () => (kills = Math.max(kills, num(readOr(path.join(mem, 'memory.oom_control')), 'oom_kill'))),
    peakBytes: () => Number(readOr(path.join(mem, 'memory.max_usage_in_bytes')).trim()) || null,
    remove: () => { for (const d of [cpu, mem]) { try { fs.rmdirSync(d); } catch { /* busy */ } } },
  };
}
