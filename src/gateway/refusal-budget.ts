/**
 * How many refusals of unauthenticated requests gov serve records. Each one is an audit
 * record (flushed) and a log line, and a client needs no token to cause one: unbounded, a
 * client could fill the disk through gov's audit log at line rate. A token bucket per source
 * (an IPv4 address or an IPv6 /64) and one for all sources bound them; what is left out is counted per source and
 * written as one summarising record when that source's budget resumes, or at shutdown, so
 * the audit still says how many there were. Refusals of authenticated requests are never
 * counted here.
 */

interface Bucket {
  /** Per second, and at most `burst` saved up. */
  perSecond: number;
  burst: number;
}

/**
 * The unit a per-source budget is kept for: an IPv4 address, or an IPv6 /64 (`2001:db8::/64`).
 * A /64 is what one host or site is usually given, and picking a new address inside it costs
 * the client nothing: budgeted per address, one client could take the global budget alone by
 * rotating addresses. IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function budgetSource(address: string): string {
  const a = address.toLowerCase().replace(/%.*$/, '');
  if (!a.includes(':')) return a;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!;
  const groups = ipv6Groups(a);
  if (groups === null) return a;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing IPv4 as two), or null. */
function ipv6Groups(a: string): number[] | null {
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const o = g.split('.').map(Number);
        if (o.length !== 4 || o.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return null;
        out.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
      } else if (/^[0-9a-f]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return null;
  return [...head, ...new Array<number>(zeros).fill(0), ...tail];
}

/** One source: 10 records at once, then one a second. */
export const PER_SOURCE_BUDGET: Bucket = { perSecond: 1, burst: 10 };
/** All sources together: 100 records at once, then 10 a second. */
export const GLOBAL_BUDGET: Bucket = { perSecond: 10, burst: 100 };
/** Sources tracked at once; refusals from further ones are counted under OTHER_SOURCES. */
const MAX_SOURCES = 10_000;
const OTHER_SOURCES = 'other addresses';

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly spec: Bucket,
    now: number,
  ) {
    this.tokens = spec.burst;
    this.at = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.at) / 1000) * this.spec.perSecond);
    this.at = now;
  }

  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  take(): void {
    this.tokens -= 1;
  }

  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.spec.burst;
  }
}

interface Source {
  bucket: TokenBucket;
  /** Refusals left out since the last record from this source. */
  suppressed: number;
}

/**
 * A refusal to record: `suppressed` earlier ones from `from` (its address, or OTHER_SOURCES
 * when too many are tracked) are to be summarised with it.
 */
export type RefusalVerdict = { record: true; suppressed: number; from: string } | { record: false };

export class RefusalBudget {
  private readonly sources = new Map<string, Source>();
  private readonly global: TokenBucket;

  constructor(private readonly o: { perSource?: Bucket; global?: Bucket; now?: () => number } = {}) {
    this.global = new TokenBucket(o.global ?? GLOBAL_BUDGET, this.now());
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Whether this unauthenticated refusal from `address` is recorded (budgeted per budgetSource). */
  admit(address: string): RefusalVerdict {
    const now = this.now();
    const [from, source] = this.source(budgetSource(address), now);
    if (!source.bucket.has(now) || !this.global.has(now)) {
      source.suppressed++;
      return { record: false };
    }
    source.bucket.take();
    this.global.take();
    // The summary rides with the record that ends the silence: at most one per recorded refusal.
    const suppressed = source.suppressed;
    source.suppressed = 0;
    return { record: true, suppressed, from };
  }

  /**
   * Every count not yet summarised (at shutdown), by source, the largest first: at most
   * `limit` sources by name, the rest summed under one `N other addresses` entry.
   */
  drain(limit = 100): Array<{ address: string; suppressed: number }> {
    const all: Array<{ address: string; suppressed: number }> = [];
    for (const [address, s] of this.sources) {
      if (s.suppressed > 0) all.push({ address, suppressed: s.suppressed });
      s.suppressed = 0;
    }
    all.sort((a, b) => b.suppressed - a.suppressed);
    const rest = all.slice(limit);
    if (rest.length === 0) return all;
    const suppressed = rest.reduce((n, r) => n + r.suppressed, 0);
    return [...all.slice(0, limit), { address: `${rest.length} other addresses`, suppressed }];
  }

  private source(address: string, now: number): [string, Source] {
    const known = this.sources.get(address);
    if (known) return [address, known];
    if (this.sources.size >= MAX_SOURCES) this.forgetQuiet(now);
    const key = this.sources.size >= MAX_SOURCES ? OTHER_SOURCES : address;
    const s = this.sources.get(key) ?? {
      bucket: new TokenBucket(this.o.perSource ?? PER_SOURCE_BUDGET, now),
      suppressed: 0,
    };
    this.sources.set(key, s);
    return [key, s];
  }

  /** Drop sources with nothing to summarise and a full bucket: they are as good as new. */
  private forgetQuiet(now: number): void {
    for (const [address, s] of this.sources)
      if (s.suppressed === 0 && s.bucket.full(now)) this.sources.delete(address);
  }
}
