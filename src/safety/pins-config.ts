/**
 * What the pins stage is configured with (gov.yaml's `pins` section), what it alerts, and the
 * key a server's pins are kept under: shared by the stage, the terminal UI and the control socket.
 */
import type { JsonObject, ServerIdentity } from '../types.js';

export type OnChange = 'deny' | 'approve' | 'allow';
export type OnPoison = 'deny' | 'approve' | 'warn';

export interface PinsConfig {
  onChange: OnChange;
  onPoison: OnPoison;
  /** What the agent's tools/list shows of a tool that needs review. */
  changedTools: 'mark' | 'hide';
  /** Pins shipped in gov.yaml: server name → tool → accepted fingerprints. */
  declared: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export interface PinAlert {
  reason: string;
  server: ServerIdentity;
  detail: JsonObject;
}

/** The name a server's pins are kept and shown under: its policy name, else its URL. */
export function serverKey(server: ServerIdentity): string {
  return server.name ?? server.url;
}
