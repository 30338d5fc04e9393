import { z } from 'zod';
import { InvalidCountError, InvalidNameError } from './errors.ts';

/** The largest count one call may ask for; anything above is refused as a mistake, whatever the limits say. */
export const MAX_COUNT_PER_CALL = 10_000;

/**
 * Server type names: a lowercase letter, then lowercase letters, digits and single dashes, at most
 * 40 characters. Such names are safe in file names (`Pulumi.<type>.yaml`), stack names, server names and shells.
 */
export const NAME_PATTERN = /^[a-z](?:-?[a-z0-9])*$/;
const NAME_MAX_LENGTH = 40;

/** Zod schema of a server type name (see NAME_PATTERN). */
export const nameSchema = z.string().max(NAME_MAX_LENGTH).regex(NAME_PATTERN);

/**
 * Provider names: a built-in provider (`local`, `hcloud`, `aws`, `fake`) or the npm name of a provider package,
 * scoped or not (`@acme/dynamic-servers-foo`, `dynamic-servers-provider-foo`): lowercase letters, digits, dashes,
 * dots and underscores, at most 214 characters (npm's limit). Stored as written.
 */
export const PROVIDER_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/** Zod schema of a provider name (see PROVIDER_NAME_PATTERN). */
export const providerNameSchema = z
  .string()
  .max(214)
  .regex(PROVIDER_NAME_PATTERN, 'must be a built-in provider (local, hcloud, aws) or the npm name of a provider package, such as @acme/dynamic-servers-foo');

/** `value` as a provider name (see PROVIDER_NAME_PATTERN); otherwise throws InvalidNameError. */
export function parseProviderName(value: unknown): string {
  if (providerNameSchema.safeParse(value).success) return value as string;
  throw new InvalidNameError(`a provider name is a built-in provider or the npm name of a provider package, at most 214 characters; got ${describeValue(value)}`);
}

const countSchema = z.number().int().min(0).max(MAX_COUNT_PER_CALL);
const stepSchema = z.number().int().min(1).max(MAX_COUNT_PER_CALL);

/** How a bad value reads in an error message: strings quoted and cut short, everything else as `String()` gives it. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/** `value` as a server count (a whole number from 0 to MAX_COUNT_PER_CALL); otherwise throws InvalidCountError. */
export function parseCount(value: unknown, what = 'count'): number {
  if (countSchema.safeParse(value).success) return value as number;
  throw new InvalidCountError(`${what} must be a whole number from 0 to ${MAX_COUNT_PER_CALL}, got ${describeValue(value)}`);
}

/** `value` as a step of increase or decrease (a whole number from 1 to MAX_COUNT_PER_CALL); otherwise throws InvalidCountError. */
export function parseStep(value: unknown, what = 'by'): number {
  if (stepSchema.safeParse(value).success) return value as number;
  throw new InvalidCountError(`${what} must be a whole number from 1 to ${MAX_COUNT_PER_CALL}, got ${describeValue(value)}`);
}

/** `value` as a server type name (see NAME_PATTERN); otherwise throws InvalidNameError. */
export function parseName(value: unknown, what = 'server type'): string {
  if (nameSchema.safeParse(value).success) return value as string;
  throw new InvalidNameError(
    `${what} must be lowercase letters, digits and single dashes, starting with a letter, at most ${NAME_MAX_LENGTH} characters; got ${describeValue(value)}`,
  );
}
