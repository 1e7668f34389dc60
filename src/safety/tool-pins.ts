/**
 * The pins stage: what gov knows about the tool definitions each server shows, and what it
 * means for a call. On every `tools/list` it pins a new server's tools (trust on first use),
 * notices changed and new tools, scans for poisoning and marks or hides what needs review.
 * On every `tools/call` it compares what this session was shown, and what the server last
 * showed anyone, with the pins — so a definition changed between list and call, or a tool
 * the agent was never shown, is governed as a change.
 */
import { isPlainObject, type JsonValue, type ServerIdentity } from '../types.js';
import { serverKey, type PinAlert, type PinsConfig } from './pins-config.js';
import { scanServer, isPoisoning, type PoisonFinding } from './poison-scan.js';
import { fileStamp } from '../../vault/atomic-file.js';
import { sanitizeInline } from '../terminal-text.js';
import { withReviewShown } from './pins-review.js';
import { STRICTNESS, type CallPins } from './pins-verdict.js';
import { pinAll, pinNew, readPins, recordChanged, updatePins, type PinsFile } from './pins-store.js';
import {
  annotationsOf,
  definitionOf,
  fingerprintOf,
  sameJson,
  shortFingerprint,
  toolsOf,
  type ToolDefinition,
} from './tool-definition.js';

interface Seen {
  fingerprint: string;
  definition: ToolDefinition;
  findings: PoisonFinding[];
}

type Fingerprinted = { definition: ToolDefinition; fingerprint: string };

/** A server's last tools/list, with what was worked out from it (reused while it repeats). */
interface ServerList {
  defs: Fingerprinted[];
  scan?: ListScan;
  /** Every tool's fingerprint: what a session is shown when nothing is hidden. */
  all?: Map<string, string>;
}

interface ListScan {
  /** Per tool: definition, fingerprint and its own findings. */
  seen: Map<string, Seen>;
  /** Findings visible only in the server's joined text. */
  split: PoisonFinding[];
}

const MAX_SESSIONS = 10_000;

/**
 * Keep `key` as the newest of at most MAX_SESSIONS: past the bound the oldest entry goes, never
 * all of them (what a live session was shown must outlast a flood of new sessions).
 */
function keepNewest<K>(m: Map<K, unknown> | Set<K>, key: K, add: () => void): void {
  m.delete(key);
  if (m.size >= MAX_SESSIONS) m.delete(m.keys().next().value!);
  add();
}

const REFRESH_MS = 200;

export class ToolPins {
  private file: PinsFile | null = null;
  private fileVersion = '';
  private checkedAt = 0;
  /** What each server last showed (any session). */
  private readonly current = new Map<string, Map<string, Seen>>();
  /** Findings visible only in a server's joined text (payloads split across tools). */
  private readonly serverFindings = new Map<string, PoisonFinding[]>();
  /** Per server and session: tool → fingerprint of the definition the agent was shown. */
  private readonly shown = new Map<string, Map<string, string>>();
  /** Sessions whose paginated first listing of a server pinned it and has more pages to come. */
  private readonly firstListing = new Set<string>();
  private readonly alerted = new Set<string>();
  private readonly listeners = new Set<(a: PinAlert) => void>();
  private readonly scanCache = new Map<string, PoisonFinding[]>();
  private readonly lastList = new Map<string, ServerList>();

  constructor(
    private readonly path: string,
    readonly config: PinsConfig,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    // Read at start-up, not on the first list's way to the agent; a problem fails closed at first use.
    try {
      this.pins();
    } catch {
      this.file = null;
    }
  }

  /**
   * The store, re-read when another process (`gov pins accept`) changed it. Its version
   * (fileStamp) is looked at most every REFRESH_MS, so a call pays for a stat only now and then.
   */
  private pins(): PinsFile {
    const t = Date.now();
    if (this.file === null || t - this.checkedAt >= REFRESH_MS) {
      this.checkedAt = t;
      const v = fileStamp(this.path);
      if (this.file === null || v !== this.fileVersion) {
        this.file = readPins(this.path);
        this.fileVersion = v;
      }
    }
    return this.file;
  }

  private write(mutate: (f: PinsFile) => boolean): void {
    this.file = updatePins(this.path, mutate);
    // Another process may write between our write and a stat: re-read at the next refresh.
    this.fileVersion = '';
  }

  private accepted(key: string, tool: string): Set<string> {
    const out = new Set<string>();
    const d = this.config.declared.get(key)?.get(tool);
    if (d !== undefined) out.add(d);
    const s = this.pins().servers[key]?.tools[tool];
    if (s) out.add(s.fingerprint);
    return out;
  }

  /** accepted(key, tool).has(fingerprint), without building the set (once per tool per list). */
  private isAccepted(key: string, tool: string, fingerprint: string): boolean {
    return (
      this.config.declared.get(key)?.get(tool) === fingerprint ||
      this.pins().servers[key]?.tools[tool]?.fingerprint === fingerprint
    );
  }

  private isPinnedServer(key: string): boolean {
    const s = this.pins().servers[key];
    return this.config.declared.has(key) || (s !== undefined && Object.keys(s.tools).length > 0);
  }

  /**
   * `earlier` with `later`'s entries added (a copy). Where a name is in both, a definition that
   * is not accepted wins: an accepted copy must not cover a changed one.
   */
  private merged<T>(
    key: string,
    earlier: Map<string, T>,
    later: Map<string, T>,
    fp: (v: T) => string,
  ): Map<string, T> {
    const out = new Map(earlier);
    for (const [name, v] of later) {
      const was = out.get(name);
      if (was === undefined || this.isAccepted(key, name, fp(was))) out.set(name, v);
    }
    return out;
  }

  /** The scan of a list: kept with the list, and by fingerprints for a list that comes back. */
  private scanOf(key: string, list: ServerList): ListScan {
    if (list.scan) return list.scan;
    const cacheKey = list.defs.map((d) => d.fingerprint).join(',');
    let f = this.scanCache.get(cacheKey);
    if (f === undefined) {
      f = scanServer(list.defs.map((d) => d.definition));
      if (this.scanCache.size >= 1000) this.scanCache.clear();
      this.scanCache.set(cacheKey, f);
    }
    const byTool = new Map<string | null, PoisonFinding[]>();
    for (const x of f) byTool.set(x.tool, [...(byTool.get(x.tool) ?? []), x]);
    const seen = new Map<string, Seen>();
    // A name listed twice: the copy that is not accepted is the one calls are judged by.
    for (const d of list.defs) {
      const was = seen.get(d.definition.name);
      if (was === undefined || this.isAccepted(key, was.definition.name, was.fingerprint))
        seen.set(d.definition.name, { ...d, findings: byTool.get(d.definition.name) ?? [] });
    }
    list.scan = { seen, split: byTool.get(null) ?? [] };
    return list.scan;
  }

  /**
   * A tools/list result on its way to the agent. Returns the result to forward (changed tools
   * marked or hidden) and the alerts to record. Throws only if pins.json cannot be read or
   * written; the caller then fails closed.
   */
  observeList(
    server: ServerIdentity,
    sessionId: string | undefined,
    result: JsonValue,
    /** A later page of a paginated list (its request carried a `cursor`): it adds to the earlier pages. */
    continued = false,
  ): { result: JsonValue; changed: boolean; alerts: PinAlert[] } {
    const tools = toolsOf(result);
    if (tools === null) return { result, changed: false, alerts: [] };
    const key = serverKey(server);
    const listed = this.definitions(key, tools);
    const defs = listed.defs;
    const alerts: PinAlert[] = [];
    const review = new Set<string>();
    const session = `${key}\0${sessionId ?? ''}`;
    const more = isPlainObject(result) && result['nextCursor'] !== undefined;
    if (!this.isPinnedServer(key)) {
      this.write((f) => pinAll(f, key, server.url, defs, this.now()));
      if (more) {
        keepNewest(this.firstListing, session, () => this.firstListing.add(session));
      }
    } else {
      // A later page of the list that first pinned this server: its tools are pinned too.
      if (continued && this.firstListing.has(session)) {
        this.write((f) => pinNew(f, key, server.url, defs, this.now()));
        if (!more) this.firstListing.delete(session);
      }
      const changes = defs.filter((d) => !this.isAccepted(key, d.definition.name, d.fingerprint));
      // Written (under the lock, durably) only when a change is not on record yet: a server
      // that keeps showing an unreviewed change costs no file access per list.
      const recorded = this.pins().servers[key]?.changed ?? {};
      if (changes.some((c) => recorded[c.definition.name]?.fingerprint !== c.fingerprint))
        this.write((f) => changes.map((c) => recordChanged(f, key, server.url, c, this.now())).some(Boolean));
      for (const c of changes) {
        const name = c.definition.name;
        const [shownName, shownKey] = [sanitizeInline(name, 80), sanitizeInline(key, 120)];
        if (this.config.onChange !== 'allow') review.add(name);
        const was =
          this.pins().servers[key]?.tools[name]?.fingerprint ??
          this.config.declared.get(key)?.get(name) ??
          null;
        this.alertOnce(alerts, `${key}\0${name}\0${c.fingerprint}`, {
          reason: `tool '${shownName}' on server '${shownKey}' ${was ? 'changed since it was pinned' : 'is new (not pinned)'}; review with: gov pins diff ${shownKey} ${shownName}`,
          server,
          detail: {
            pins: was ? 'changed' : 'new',
            tool: name,
            pinned_fingerprint: was,
            fingerprint: c.fingerprint,
          },
        });
      }
    }
    const { seen, split } = this.scanOf(key, listed);
    const before = continued ? this.current.get(key) : undefined;
    this.current.set(key, before ? this.merged(key, before, seen, (x) => x.fingerprint) : seen);
    this.serverFindings.set(key, split);
    for (const [name, s] of seen)
      if (s.findings.length > 0)
        this.poisonAlert(alerts, server, key, name, s.fingerprint, s.findings, review);
    if (split.length > 0) {
      const all = defs.map((d) => d.fingerprint).join(',');
      this.poisonAlert(alerts, server, key, null, all, split, review);
    }

    const changed = review.size > 0;
    const out = changed ? withReviewShown(result, tools, review, this.config.changedTools) : result;
    // What this session was shown; the same (shared, never changed) map while nothing is hidden.
    let shownNow = listed.all;
    if (shownNow === undefined) {
      shownNow = new Map<string, string>();
      for (const d of defs) {
        const was = shownNow.get(d.definition.name);
        if (was === undefined || this.isAccepted(key, d.definition.name, was))
          shownNow.set(d.definition.name, d.fingerprint);
      }
      listed.all = shownNow;
    }
    if (this.config.changedTools === 'hide' && review.size > 0)
      shownNow = new Map([...shownNow].filter(([name]) => !review.has(name)));
    const earlier = continued ? this.shown.get(session) : undefined;
    if (earlier) shownNow = this.merged(key, earlier, shownNow, (fp) => fp);
    keepNewest(this.shown, session, () => this.shown.set(session, shownNow));
    return { result: out, changed, alerts };
  }

  /**
   * Definitions and fingerprints of a list; a list whose definitions equal the server's
   * previous ones (the common case: every session lists the same tools) reuses them, and
   * their scan, after a comparison that costs a fraction of fingerprinting. A definition equal
   * to the one stored in pins.json has the stored fingerprint, so a definition is hashed once,
   * when gov first sees it, not in every process.
   */
  private definitions(key: string, tools: JsonValue[]): ServerList {
    const now: ToolDefinition[] = [];
    for (const t of tools) {
      const definition = definitionOf(t);
      if (definition) now.push(definition);
    }
    const last = this.lastList.get(key);
    if (last && last.defs.length === now.length && now.every((d, i) => sameJson(d, last.defs[i]!.definition)))
      return last;
    const stored = this.pins().servers[key];
    const list: ServerList = {
      defs: now.map((definition) => {
        const known = [stored?.tools[definition.name], stored?.changed[definition.name]].find(
          (k) => k !== undefined && sameJson(k.definition, definition),
        );
        return { definition, fingerprint: known?.fingerprint ?? fingerprintOf(definition) };
      }),
    };
    keepNewest(this.lastList, key, () => this.lastList.set(key, list));
    return list;
  }

  private poisonAlert(
    alerts: PinAlert[],
    server: ServerIdentity,
    key: string,
    tool: string | null,
    fingerprint: string,
    findings: PoisonFinding[],
    review: Set<string>,
  ): void {
    if (findings.length === 0) return;
    const poisoned = findings.some(isPoisoning);
    if (poisoned && this.config.onPoison !== 'warn') {
      if (tool === null) for (const name of this.current.get(key)?.keys() ?? []) review.add(name);
      else review.add(tool);
    }
    this.alertOnce(alerts, `${key}\0${tool ?? '*'}\0${fingerprint}\0poison`, {
      reason: `${poisoned ? 'suspected tool poisoning' : 'tool definition mentions credentials'} in ${tool === null ? `the joined tool list of server '${sanitizeInline(key, 120)}'` : `tool '${sanitizeInline(tool, 80)}' on server '${sanitizeInline(key, 120)}'`}: ${findings.map((f) => `${f.rule} (${f.severity})`).join(', ')}`,
      server,
      detail: {
        pins: 'poison',
        tool,
        fingerprint,
        findings: findings.map((f) => ({
          rule: f.rule,
          severity: f.severity,
          where: f.where,
          excerpt: f.excerpt,
        })),
      },
    });
  }

  /** Each new alert as it is raised (the terminal UI shows them); the caller still records it. */
  onAlert(listener: (a: PinAlert) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private alertOnce(alerts: PinAlert[], id: string, a: PinAlert): void {
    if (this.alerted.has(id)) return;
    // A server churning definitions must not grow memory forever; re-alerting is harmless.
    keepNewest(this.alerted, id, () => this.alerted.add(id));
    alerts.push(a);
    for (const l of this.listeners)
      try {
        l(a);
      } catch {
        // A display problem must not withhold the list; the alert is recorded all the same.
      }
  }

  /** What pins say about one tools/call. Throws only if pins.json cannot be read. */
  checkCall(server: ServerIdentity, sessionId: string | undefined, tool: string): CallPins {
    const key = serverKey(server);
    const cur = this.current.get(key)?.get(tool);
    const stored = this.pins().servers[key];
    const annotations = annotationsOf(cur?.definition ?? stored?.tools[tool]?.definition);
    let decision: CallPins['decision'];
    let pinned = false;
    if (this.isPinnedServer(key)) {
      const ok = this.accepted(key, tool);
      const session = `${key}\0${sessionId ?? ''}`;
      const shownFp = this.shown.get(session);
      // A session that calls is live: it is the last whose view a flood of new sessions evicts.
      if (shownFp) keepNewest(this.shown, session, () => this.shown.set(session, shownFp));
      let change: string | null = null;
      if (ok.size === 0) change = `tool '${tool}' on server '${key}' is not pinned (new, or never listed)`;
      else if (shownFp && !shownFp.has(tool))
        change = `tool '${tool}' on server '${key}' was never shown to this session`;
      else if (shownFp && !ok.has(shownFp.get(tool)!))
        change = `tool '${tool}' on server '${key}' changed since it was pinned (${shortFingerprint([...ok][0]!)} → ${shortFingerprint(shownFp.get(tool)!)})`;
      else if (cur && !ok.has(cur.fingerprint))
        change = `tool '${tool}' on server '${key}' changed since it was pinned (${shortFingerprint([...ok][0]!)} → ${shortFingerprint(cur.fingerprint)})`;
      // No list in this run (a client calling from a cached list): the last one seen had a change.
      else if (!cur && stored?.changed[tool] && !ok.has(stored.changed[tool].fingerprint))
        change = `tool '${tool}' on server '${key}' has a change awaiting review (seen ${stored.changed[tool].seen_at})`;
      pinned = change === null;
      if (change !== null && this.config.onChange !== 'allow')
        decision = {
          decision: this.config.onChange,
          rule: 'pins-change',
          reason: `${change}; review with: gov pins diff ${key} ${tool}`,
        };
    }
    const poison = [...(cur?.findings ?? []), ...(this.serverFindings.get(key) ?? [])].filter(isPoisoning);
    if (poison.length > 0 && this.config.onPoison !== 'warn') {
      const p = {
        decision: this.config.onPoison,
        rule: 'pins-poison' as const,
        reason: `suspected tool poisoning in tool '${tool}' on server '${key}': ${poison.map((f) => `${f.rule} "${f.excerpt}"`).join('; ')}`,
      };
      if (!decision || STRICTNESS[p.decision] > STRICTNESS[decision.decision]) decision = p;
    }
    return decision ? { annotations, pinned, decision } : { annotations, pinned };
  }
}
