import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './json.ts';

/** Key names that suggest a secret; templates are stored on server rows, so they must not hold any. */
const SECRET_KEY_PATTERN = /pass(word)?|secret|token|credential|api[-_]?key|private[-_]?key/i;

/** The same JSON with object keys sorted at every level, so equal templates serialize identically. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:<hex>` of the value's canonical JSON: equal values (whatever their objects' key order) have equal hashes. */
export function contentHash(value: JsonValue): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

/** `sha256:<hex>` of the template's canonical JSON: equal templates (whatever their key order) have equal hashes. */
export function templateHash(template: JsonObject): string {
  return contentHash(template);
}

/** Dotted paths of the template's keys that look like secrets (e.g. `auth.apiKey`); empty when there are none. */
export function secretLookingKeys(value: JsonValue, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => secretLookingKeys(item, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const itemPath = path ? `${path}.${key}` : key;
    return [...(SECRET_KEY_PATTERN.test(key) ? [itemPath] : []), ...secretLookingKeys(item, itemPath)];
  });
}
