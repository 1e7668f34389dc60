import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

type HeaderArg = OutgoingHttpHeaders | Array<string | string[]> | string | undefined;

function sessionIdIn(h: HeaderArg): string | undefined {
  if (h === undefined || typeof h === 'string') return undefined;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2)
      if (String(h[i]).toLowerCase() === 'mcp-session-id') return String(h[i + 1]);
    return undefined;
  }
  for (const [k, v] of Object.entries(h))
    if (k.toLowerCase() === 'mcp-session-id' && v !== undefined) return String(Array.isArray(v) ? v[0] : v);
  return undefined;
}

/**
 * Calls `onSession` with the `Mcp-Session-Id` a successful answer carries. The shared
 * handler writes headers with `writeHead(status, headers)`, which `getHeader` cannot see.
 */
export function observeSessionId(res: ServerResponse, onSession: (id: string) => void): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = (
      rest.length > 1 ? rest[1] : typeof rest[0] === 'string' ? undefined : rest[0]
    ) as HeaderArg;
    const id = sessionIdIn(headers) ?? (res.getHeader('mcp-session-id') as string | undefined);
    if (id !== undefined && status < 300) onSession(id);
    return writeHead(status, ...rest);
  };
}
