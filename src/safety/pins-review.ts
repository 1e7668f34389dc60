/**
 * What a session is shown of the tools under review (changed since pinned, or suspected of
 * poisoning): marked in their description, or left out of the list.
 */
import type { JsonObject, JsonValue } from '../types.js';

export const REVIEW_MARK =
  '[gov: this tool changed since it was pinned or looks poisoned; calls to it are reviewed] ';

/** The tools/list `result` (whose tools are `tools`) with the tools named in `review` marked or hidden. */
export function withReviewShown(
  result: JsonValue,
  tools: JsonValue[],
  review: ReadonlySet<string>,
  changedTools: 'mark' | 'hide',
): JsonValue {
  const kept: JsonValue[] = [];
  for (const t of tools) {
    const name = (t as JsonObject)?.['name'];
    if (typeof name !== 'string' || !review.has(name)) kept.push(t);
    else if (changedTools === 'mark') {
      const desc = (t as JsonObject)['description'];
      kept.push({ ...(t as JsonObject), description: REVIEW_MARK + (typeof desc === 'string' ? desc : '') });
    }
  }
  return { ...(result as JsonObject), tools: kept };
}
