// The bench's loads (issue 2, "How it is shown"), full and --quick, with their goals as ratios to Postfix.

export interface ThroughputLoad {
  id: 'a' | 'b';
  title: string;
  sessions: number;
  messages: number; // total over all sessions
  size: number; // payload bytes
  perConnection: 'many' | 'one';
  goalRatio: number; // ours msgs/s must reach this multiple of Postfix's
  deadlineMs: number; // each run stops taking new messages after this
}

export interface IdleLoad {
  id: 'c';
  title: string;
  connections: number; // held against our server
  /** Postfix forks one smtpd per connection; a few hundred are enough to see its per-connection cost. */
  postfixConnections: number;
  goalKiB: number; // ours must stay at or under this many KiB per idle connection
  deadlineMs: number;
}

export interface BenchPlan {
  a: ThroughputLoad;
  b: ThroughputLoad;
  c: IdleLoad;
}

export function benchPlan(quick: boolean): BenchPlan {
  return {
    a: {
      id: 'a',
      title: '(a) 20 sessions, many 4 KiB msgs each',
      sessions: 20,
      messages: quick ? 2_000 : 10_000,
      size: 4096,
      perConnection: 'many',
      goalRatio: 4,
      deadlineMs: quick ? 30_000 : 120_000,
    },
    b: {
      id: 'b',
      title: '(b) 20 parallel, 1 msg per connection',
      sessions: 20,
      messages: quick ? 500 : 2_000,
      size: 4096,
      perConnection: 'one',
      goalRatio: 2,
      deadlineMs: quick ? 30_000 : 90_000,
    },
    c: {
      id: 'c',
      title: '(c) idle connections after EHLO',
      connections: quick ? 1_000 : 10_000,
      postfixConnections: quick ? 100 : 200,
      goalKiB: 8,
      deadlineMs: quick ? 30_000 : 120_000,
    },
  };
}
