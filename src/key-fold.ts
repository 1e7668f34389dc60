/**
 * How a case-insensitive JSON decoder compares object keys. Go's encoding/json matches a
 * struct field's name ignoring case, with Unicode simple folding (ſ→s, K→k): a key that
 * folds onto a name without being it is read as that name.
 */

/** Lower-case ASCII keys (most keys) fold to themselves: no string is made for them. */
const FOLDS_TO_ITSELF = /^[a-z0-9_$.:/-]*$/;

export function foldKey(k: string): string {
  return FOLDS_TO_ITSELF.test(k) ? k : k.toUpperCase().toLowerCase();
}
