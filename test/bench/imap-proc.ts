/**
 * What /proc says about a server: its processes (Dovecot is a master and many children), their
 * memory and their CPU time. Dovecot's imap processes come and go (one per session), so CPU is
 * counted as the live processes' own time plus what the master has collected from children that
 * exited (cutime/cstime): the difference of two readings is the CPU spent in between.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/PID/stat times: 100 on every Linux this runs on. */
const CLK_TCK = 100;

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, ms. */
  cpuMs: number;
  /** cutime + cstime (children that exited and were waited for), ms. */
  childCpuMs: number;
  nice: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return undefined; // gone meanwhile
  }
  // comm is in parentheses and may hold spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text
    .slice(close + 2)
    .split(' ')
    .map(Number);
  // Fields from 3 (state) on: ppid is 4, utime 14, stime 15, cutime 16, cstime 17, nice 19.
  const field = (n: number): number => f[n - 3]!;
  return {
    pid,
    comm,
    ppid: field(4),
    cpuMs: ((field(14) + field(15)) * 1000) / CLK_TCK,
    childCpuMs: ((field(16) + field(17)) * 1000) / CLK_TCK,
    nice: field(19),
  };
}

/** `root` and every process below it. */
export function processTree(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const inTree = new Set([root]);
  const tree = all.filter((s) => s.pid === root);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of all) {
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        tree.push(s);
        grew = true;
      }
    }
  }
  return tree;
}

/** CPU ms used so far by the tree, including exited children the root has waited for. */
export function treeCpuMs(root: number): number {
  const tree = processTree(root);
  const rootStat = tree.find((s) => s.pid === root);
  return tree.reduce((sum, s) => sum + s.cpuMs, 0) + (rootStat?.childCpuMs ?? 0);
}

export interface Memory {
  processes: number;
  /** Resident set, summed over processes: counts shared pages once per process. */
  rssMiB: number;
  /** Proportional set: shared pages divided among the processes that map them. */
  pssMiB: number;
}

function kB(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function treeMemory(root: number): Memory {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const s of processTree(root)) {
    try {
      rss += kB(readFileSync(`/proc/${s.pid}/status`, 'latin1'), 'VmRSS');
      pss += kB(readFileSync(`/proc/${s.pid}/smaps_rollup`, 'latin1'), 'Pss');
      processes++;
    } catch {
      // exited meanwhile
    }
  }
  return { processes, rssMiB: rss / 1024, pssMiB: pss / 1024 };
}

/** CPU ms so far of the tree's live processes with one of these names. */
export function cpuMsOf(root: number, comms: string[]): number {
  return processTree(root)
    .filter((s) => comms.includes(s.comm))
    .reduce((sum, s) => sum + s.cpuMs, 0);
}

/** How many processes in the tree have this name (Dovecot's comm is the service name). */
export function countProcesses(root: number, comm: string): number {
  return processTree(root).filter((s) => s.comm === comm).length;
}

/** CPU time the whole machine has spent busy (all cores, all processes), ms. */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'latin1')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are work.
  const busy = f.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
  return (busy * 1000) / CLK_TCK;
}

export interface ThreadCpu {
  /** Node's main thread: the event loop, where all JavaScript runs. */
  main: number;
  /** libuv's thread pool: fs calls (and crypto.scrypt, where it runs there). */
  pool: number;
  /** Voicegate's code hashing: its hashing process (a child, at a lower priority), and threads below the main thread's priority. */
  hashing: number;
  /** Everything else (V8's GC and compiler threads, ...). */
  other: number;
}

/** A thread's time on a CPU so far, ms, to the nanosecond (/proc's schedstat, not clock ticks). */
function runMs(pid: number, tid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return 0; // gone meanwhile
  }
}

/**
 * CPU ms so far of one Node process's threads, by role (from the names Node gives them).
 * `precise`: from each thread's schedstat (ns) instead of its stat (10 ms ticks), for readings
 * of a few ms; a thread's time in the kernel's accounting then counts too.
 */
export function nodeThreadCpuMs(pid: number, precise = false): ThreadCpu {
  const cpu: ThreadCpu = { main: 0, pool: 0, hashing: 0, other: 0 };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return cpu;
  }
  const threads = tids.flatMap(
    (tid) => readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`) ?? [],
  );
  const mainNice = threads.find((s) => s.pid === pid)?.nice ?? 0;
  for (const s of threads) {
    const role =
      s.pid === pid
        ? 'main'
        : s.comm === 'libuv-worker'
          ? 'pool'
          : s.nice > mainNice
            ? 'hashing'
            : 'other';
    cpu[role] += precise ? runMs(pid, s.pid) : s.cpuMs;
  }
  // The server's children: here its code-hashing process (server/domain/code-hash-pool.ts). Those
  // that ended count through the server's own stat (its waited-for children's time, in ticks).
  for (const child of processTree(pid)) {
    if (child.pid === pid) continue;
    cpu.hashing += precise ? treeTasksRunMs(child.pid) : child.cpuMs;
  }
  cpu.hashing += readStat(pid)?.childCpuMs ?? 0;
  return cpu;
}

/** A process's threads' time on a CPU so far, ms (schedstat). */
function treeTasksRunMs(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + runMs(pid, Number(tid)), 0);
  } catch {
    return 0; // gone meanwhile
  }
}

/**
 * Waits until `pid` has no code hashing left (its hashing process, or threads at a lower
 * priority than its main thread: they end 30 s after their last check), so that a reading of the process's memory is
 * its steady idle state; at most `timeoutMs`. Returns whether they ended.
 */
export async function hashingThreadsEnded(pid: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return true; // gone
    }
    const threads = tids.flatMap(
      (tid) => readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`) ?? [],
    );
    const mainNice = threads.find((s) => s.pid === pid)?.nice ?? 0;
    const hashing =
      threads.some((s) => s.pid !== pid && s.nice > mainNice) || processTree(pid).length > 1;
    if (!hashing) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
