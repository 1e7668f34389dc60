/**
 * The 2024-11-05 HTTP+SSE transport: the client GETs an SSE stream whose first event,
 * `event: endpoint`, names the URL it must POST messages to; responses (and anything gov
 * injects, such as a denial) travel back on that stream. The proxy keys streams by the
 * endpoint URL so a POST can be traced to the stream that must carry its answer.
 */
import type { SseEvent } from './sse.js';

/**
 * The absolute POST URL announced by an `endpoint` event, resolved against the stream URL
 * as the SDK client does (`new URL(data, streamUrl)`), without fragment. Null for any other
 * event, or data that is not a usable http(s) URL.
 */
export function endpointFromEvent(ev: SseEvent, streamUrl: string): string | null {
  if (ev.event !== 'endpoint' || ev.hasData === false) return null;
  const data = ev.data.trim();
  if (data === '' || data.includes('\n')) return null;
  let url: URL;
  try {
    url = new URL(data, streamUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  return url.toString();
}
