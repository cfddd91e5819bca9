// Process facts from /proc for the bench (memory of a server or a process tree) and small process helpers.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';

export interface ProcMemory {
  rssKiB: number; // VmRSS: resident now
  hwmKiB: number; // VmHWM: peak resident since the process started
}

/** VmRSS/VmHWM of one process (Linux); null if it is gone. */
export function readMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** pid and every descendant (Postfix is a tree of processes under master). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Field 4 is the parent pid; field 2 (comm) may contain spaces, so split after its closing ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Proportional set size of a process tree in KiB: shared libraries are split among the processes
 * sharing them, so the sum is a fair "memory this server uses" for multi-process servers like
 * Postfix (a plain RSS sum would count libc once per process).
 */
export function treePssKiB(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      sum += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    } catch {
      // exited between listing and reading: it no longer uses memory
    }
  }
  return sum;
}

/** Samples a memory figure on a timer and keeps the peak (a cheap stand-in for VmHWM of a tree). */
export class PeakSampler {
  private timer: NodeJS.Timeout | undefined;
  peak = 0;
  constructor(
    private readonly sample: () => number,
    private readonly everyMs = 200,
  ) {}
  start(): this {
    this.take();
    this.timer = setInterval(() => this.take(), this.everyMs);
    this.timer.unref();
    return this;
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.take();
    return this.peak;
  }
  private take(): void {
    const v = this.sample();
    if (Number.isFinite(v) && v > this.peak) this.peak = v;
  }
}

/** Full path of a program on PATH (plus the sbin folders, where Postfix's tools live), or null. */
export function which(program: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return null;
}

/** Current soft/hard open-file limits of this process, from /proc/self/limits. */
export function fdLimits(): { soft: number; hard: number } {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  const num = (s: string | undefined): number =>
    s === undefined || s === 'unlimited' ? Infinity : Number(s);
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

/**
 * Raises this process's open-file limit to at least `wanted` (children inherit it). Node has no
 * setrlimit, so this uses util-linux prlimit on our own pid; as root the hard limit may rise too.
 * Returns the soft limit in force afterwards.
 */
export function raiseFdLimit(wanted: number): number {
  const before = fdLimits();
  if (before.soft >= wanted) return before.soft;
  const prlimit = which('prlimit');
  if (prlimit) {
    const hard = Math.max(
      before.hard === Infinity ? wanted : before.hard,
      process.getuid?.() === 0 ? wanted : 0,
    );
    const soft = Math.min(wanted, hard);
    spawnSync(prlimit, ['--pid', String(process.pid), `--nofile=${soft}:${hard}`], { stdio: 'ignore' });
  }
  return fdLimits().soft;
}

/**
 * CPU seconds of one process from /proc/PID/stat: utime + stime, plus cutime + cstime (its reaped
 * children) when asked. Clock ticks are 1/100 s on Linux. NaN once the process is gone.
 */
export function processCpuSeconds(pid: number, withReapedChildren = false): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  // Fields 14-17 (utime, stime, cutime, cstime) are at 11..14 once pid and "(comm)" are cut off.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = Number(f[11]) + Number(f[12]);
  return (withReapedChildren ? own + Number(f[13]) + Number(f[14]) : own) / 100;
}

/**
 * CPU seconds of a process's main thread alone (the task whose id is the pid): what bounds a one-event-loop
 * server's throughput, while processCpuSeconds also counts its worker threads. NaN once it is gone.
 */
export function mainThreadCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of a process tree (multi-process servers like Dovecot), reaped children included. */
export function treeCpuSeconds(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    const s = processCpuSeconds(pid, true);
    if (Number.isFinite(s)) sum += s; // exited while we looked: its time is now in its parent's
  }
  return sum;
}
