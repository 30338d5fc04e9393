import { UnknownServerTypeError } from '../records/errors.ts';
import type { PublishedServerType } from '../records/registry.ts';

/**
 * The published server types a command acts on: all of `published`, or only the one named `only`. Throws
 * UnknownServerTypeError (exit 2) when `only` names no published type.
 */
export function chooseServerTypes(published: readonly PublishedServerType[], only?: string): PublishedServerType[] {
  if (only === undefined) return [...published];
  const chosen = published.filter((type) => type.name === only);
  if (chosen.length === 0) throw new UnknownServerTypeError(only, published.map((type) => type.name));
  return chosen;
}
