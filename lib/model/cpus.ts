// How many CPUs this process may really use: a container or a systemd unit limits it by
// the cgroup's CPU quota, which os.availableParallelism() does not see (it counts the
// host's cores), so a pool sized by it starts threads that only compete for one core.
import * as fs from 'node:fs';
import * as os from 'node:os';

const read = (file: string): string | null => { try { return fs.readFileSync(file, 'utf8').trim(); } catch { return null; } };

/** The quota of this process's own cgroup (v2 cpu.max, v1 cpu.cfs_quota_us), in CPUs; null when unlimited. */
export function cgroupCpuQuota(procCgroup = read('/proc/self/cgroup'), root = '/sys/fs/cgroup'): number | null {
  for (const line of (procCgroup ?? '').split('\n')) {
    const [, controllers, where] = line.split(':');
    if (where === undefined) continue;
    if (controllers === '') {
      const max = read(`${root}${where}/cpu.max`) ?? read(`${root}/cpu.max`);
      const [quota, period] = (max ?? '').split(' ');
      if (quota && quota !== 'max' && Number(period) > 0) return Number(quota) / Number(period);
    } else if (controllers.split(',').includes('cpu')) {
      const dir = fs.existsSync(`${root}/cpu${where}`) ? `${root}/cpu${where}` : `${root}/cpu`;
      const quota = Number(read(`${dir}/cpu.cfs_quota_us`));
      const period = Number(read(`${dir}/cpu.cfs_period_us`));
      if (quota > 0 && period > 0) return quota / period;
    }
  }
  return null;
}

/** Whole CPUs to plan threads for: the cgroup quota rounded up, never more than the cores. */
export function cpuBudget(): number {
  const cores = os.availableParallelism();
  const quota = cgroupCpuQuota();
  return Math.max(1, quota === null ? cores : Math.min(cores, Math.ceil(quota - 0.05)));
}
