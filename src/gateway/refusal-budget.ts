/**
 * How many refusals of unauthenticated requests gov serve records. Each one is an audit
 * record (flushed) and a log line, and a client needs no token to cause one: unbounded, a
 * client could fill the disk through gov's audit log at line rate. A token bucket per source
 * address and one for all sources bound them; what is left out is counted per source and
 * written as one summarising record when that source's budget resumes, or at shutdown, so
 * the audit still says how many there were. Refusals of authenticated requests are never
 * counted here.
 */

interface Bucket {
  /** Per second, and at most `burst` saved up. */
  perSecond: number;
  burst: number;
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

  /** Whether this unauthenticated refusal from `address` is recorded. */
  admit(address: string): RefusalVerdict {
    const now = this.now();
    const [from, source] = this.source(address, now);
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
