import { describe, expect, it } from 'vitest';
import { forwardableHeaders } from '../../../src/transport/http/upstream.js';

describe('forwardableHeaders', () => {
  it('drops hop-by-hop headers and those the Connection header names, keeps the rest as they are', () => {
    const out = forwardableHeaders({
      host: 'example.test',
      connection: 'Keep-Alive, X-Hop ,x-other',
      'keep-alive': 'timeout=5',
      'x-hop': '1',
      'x-other': '2',
      'proxy-authorization': 'Basic abc',
      te: 'trailers',
      'content-type': 'application/json',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(out).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('with the common `Connection: keep-alive` keeps every end-to-end header', () => {
    const out = forwardableHeaders({ connection: 'keep-alive', accept: '*/*', 'mcp-session-id': 's1' });
    expect(out).toEqual({ accept: '*/*', 'mcp-session-id': 's1' });
  });
});
