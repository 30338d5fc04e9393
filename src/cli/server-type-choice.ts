import { UnknownServerTypeError } from '../records/errors.ts';

/**
 * The configured server types a command acts on: all of `configured`, or only the one named `only`. Throws
 * UnknownServerTypeError (exit 2) when `only` names no configured type.
 */
export function chooseServerTypes<T extends { type: string }>(configured: readonly T[], only?: string): T[] {
  if (only === undefined) return [...configured];
  const chosen = configured.filter((type) => type.type === only);
  if (chosen.length === 0) throw new UnknownServerTypeError(only, configured.map((type) => type.type));
  return chosen;
}
