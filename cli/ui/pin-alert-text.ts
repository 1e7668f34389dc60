import { serverKey, type PinAlert } from '../../src/safety/pins-config.js';
import { shortFingerprint } from '../../src/safety/tool-definition.js';
import { sanitizeInline } from '../../src/terminal-text.js';
import { isPlainObject } from '../../src/types.js';

const text = (v: unknown): string => (typeof v === 'string' ? v : '?');

export type PinAlertKind = 'changed' | 'new' | 'poison';

/**
 * A pin alert in a few words for the panel: `server › tool: what`, with the command to review
 * a change, or each poisoning finding's rule, severity and matched text. Tool names, server
 * names and excerpts come from the server: everything passes the terminal sanitiser.
 */
export function pinAlertText(a: PinAlert, max = 240): { kind: PinAlertKind; text: string } {
  const d = a.detail;
  const server = serverKey(a.server);
  const tool = typeof d['tool'] === 'string' ? d['tool'] : null;
  const where = `${server} › ${tool ?? 'all tools'}: `;
  if (d['pins'] === 'poison') {
    const findings = (Array.isArray(d['findings']) ? d['findings'] : [])
      .filter(isPlainObject)
      .map((f) => `${text(f['rule'])} (${text(f['severity'])}) "${text(f['excerpt'])}"`);
    return { kind: 'poison', text: sanitizeInline(where + findings.join('; '), max) };
  }
  const review = ` · review: gov pins diff ${server} ${tool ?? ''}`;
  const was = typeof d['pinned_fingerprint'] === 'string' ? d['pinned_fingerprint'] : null;
  const now = typeof d['fingerprint'] === 'string' ? d['fingerprint'] : '';
  return was === null
    ? { kind: 'new', text: sanitizeInline(`${where}not pinned${review}`, max) }
    : {
        kind: 'changed',
        text: sanitizeInline(
          `${where}changed since it was pinned (${shortFingerprint(was)} → ${shortFingerprint(now)})${review}`,
          max,
        ),
      };
}
