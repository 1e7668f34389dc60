import { describe, expect, it } from 'vitest';
import {
  endpointReachedBy,
  filingKeys,
  lookupKeys,
  matchEndpoint,
  parseEndpointUrl,
  type EndpointUrl,
} from '../../../src/transport/http/legacy-endpoint-url.js';

const ENDPOINT = 'http://srv.example:8080/messages?sessionId=abc';

const parsed = (url: string): EndpointUrl => {
  const u = parseEndpointUrl(url);
  if (!u) throw new Error(`not a URL: ${url}`);
  return u;
};
const match = (endpoint: string, request: string) => matchEndpoint(parsed(endpoint), parsed(request));
/** Whether the request is looked up under a key the endpoint was filed under. */
const meets = (endpoint: string, request: string) =>
  filingKeys(parsed(endpoint)).some((k) => lookupKeys(parsed(request)).includes(k));

describe('2024-11-05 endpoint URLs: which requests reach an endpoint', () => {
  it.each([
    ['the same URL', ENDPOINT],
    [
      'the path in another case (Express routes case-insensitively)',
      'http://srv.example:8080/MESSAGES?sessionId=abc',
    ],
    [
      'a trailing slash (Express routes it to the same handler)',
      'http://srv.example:8080/messages/?sessionId=abc',
    ],
    ['an extra query parameter', 'http://srv.example:8080/messages?sessionId=abc&x=1'],
    ['the parameters in another order', 'http://srv.example:8080/messages?x=1&sessionId=abc'],
    ['percent-encoded unreserved path characters', 'http://srv.example:8080/%6Dessages?sessionId=abc'],
    ['lower-case escapes in another case', 'http://srv.example:8080/%6d%45ssages?sessionId=abc'],
    ['a percent-encoded value', 'http://srv.example:8080/messages?sessionId=%61bc'],
    [
      'a parameter name in another case (ASP.NET reads names so)',
      'http://srv.example:8080/messages?SESSIONID=abc',
    ],
    ['the session id given twice, the same', 'http://srv.example:8080/messages?sessionId=abc&sessionId=abc'],
    ['the host in another case', 'http://SRV.Example:8080/messages?sessionId=abc'],
    ['repeated slashes (front ends merge them)', 'http://srv.example:8080//messages?sessionId=abc'],
    ['dot segments, encoded too', 'http://srv.example:8080/x/%2e%2E/messages?sessionId=abc'],
    ['a fragment', 'http://srv.example:8080/messages?sessionId=abc#f'],
    [
      'a path parameter (Tomcat, Jetty and Spring drop it)',
      'http://srv.example:8080/messages;jsessionid=1?sessionId=abc',
    ],
    [
      'an encoded path parameter (Spring decodes first)',
      'http://srv.example:8080/messages%3Bx?sessionId=abc',
    ],
    ['dot segments with parameters', 'http://srv.example:8080/x;a/..;b/messages;c/?sessionId=abc'],
  ])('%s', (_why, request) => {
    expect(match(ENDPOINT, request)).toBe('yes');
    expect(meets(ENDPOINT, request)).toBe(true);
  });

  it.each([
    ['another session id', 'http://srv.example:8080/messages?sessionId=abd'],
    ['the session id in another case', 'http://srv.example:8080/messages?sessionId=ABC'],
    ['no session id', 'http://srv.example:8080/messages'],
    ['another path', 'http://srv.example:8080/message?sessionId=abc'],
    ['a longer path', 'http://srv.example:8080/messages/x?sessionId=abc'],
    [
      'an encoded slash (not decoded: it would move the path)',
      'http://srv.example:8080/a%2Fmessages?sessionId=abc',
    ],
    ['another port', 'http://srv.example:8081/messages?sessionId=abc'],
    ['another scheme', 'https://srv.example:8080/messages?sessionId=abc'],
    ['another host', 'http://other.example:8080/messages?sessionId=abc'],
  ])('not %s', (_why, request) => {
    expect(match(ENDPOINT, request)).toBe('no');
  });

  it('a request giving the session id another value too is ambiguous (servers read the first, the last or all)', () => {
    expect(match(ENDPOINT, 'http://srv.example:8080/messages?sessionId=abc&sessionId=xyz')).toBe('ambiguous');
    expect(match(ENDPOINT, 'http://srv.example:8080/messages?sessionId=xyz&SessionId=abc')).toBe('ambiguous');
    expect(meets(ENDPOINT, 'http://srv.example:8080/messages?sessionId=xyz&sessionId=abc')).toBe(true);
  });

  it('every parameter of the endpoint must be given', () => {
    const endpoint = 'http://srv.example/messages?sessionId=abc&t=1';
    expect(match(endpoint, 'http://srv.example/messages?t=1&sessionId=abc&z=2')).toBe('yes');
    expect(match(endpoint, 'http://srv.example/messages?sessionId=abc')).toBe('no');
    expect(match(endpoint, 'http://srv.example/messages?sessionId=abc&t=2')).toBe('no');
  });

  it('an endpoint without a query is reached by its path with any query', () => {
    const endpoint = 'http://srv.example/session/abc-123/';
    expect(match(endpoint, 'http://srv.example/Session/ABC-123?x=1')).toBe('yes');
    expect(meets(endpoint, 'http://srv.example/Session/ABC-123?x=1')).toBe(true);
    expect(match(endpoint, 'http://srv.example/session/abc-124')).toBe('no');
  });

  it('an endpoint naming a parameter twice is filed under each of its values', () => {
    const endpoint = 'http://srv.example/m?id=a&id=b';
    expect(filingKeys(parsed(endpoint))).toHaveLength(2);
    expect(match(endpoint, 'http://srv.example/m?id=b&id=a')).toBe('yes');
    expect(match(endpoint, 'http://srv.example/m?id=b')).toBe('ambiguous');
    expect(meets(endpoint, 'http://srv.example/m?id=b')).toBe(true);
  });

  it('an endpoint is filed under its most distinct parameter, so sessions sharing a path spread out', () => {
    const a = filingKeys(parsed('http://srv.example/m?transport=sse&sessionId=0f8e2b1c'));
    const b = filingKeys(parsed('http://srv.example/m?transport=sse&sessionId=77aa90d3'));
    expect(a).toHaveLength(1);
    expect(a).not.toEqual(b);
  });

  it('the default port is the same as none', () => {
    expect(match('https://srv.example/messages?s=1', 'https://srv.example:443/messages?s=1')).toBe('yes');
  });

  it("a stream's own URL, with its query, is reached by POSTs to an endpoint spelled like its path", () => {
    expect(endpointReachedBy('http://srv.example/MCP/', 'http://srv.example/mcp?key=1')).toBe(true);
    expect(endpointReachedBy('http://srv.example/mcp?sessionId=a', 'http://srv.example/mcp')).toBe(false);
    expect(endpointReachedBy('http://srv.example/messages', 'http://srv.example/mcp')).toBe(false);
  });

  it('only http(s) URLs are endpoints', () => {
    expect(parseEndpointUrl('/messages?sessionId=abc')).toBeNull();
    expect(parseEndpointUrl('ftp://srv.example/messages')).toBeNull();
  });
});
