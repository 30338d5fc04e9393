// Labels and label selectors with the Hetzner Cloud API's syntax: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
// `k in (a,b)`, `k notin (a,b)`, combined with commas (all must hold).
import { invalidInput } from './errors.ts';

/** One condition of a label selector. */
export type LabelRequirement =
  | { key: string; op: 'equals' | 'not-equals'; value: string }
  | { key: string; op: 'in' | 'not-in'; values: string[] }
  | { key: string; op: 'exists' | 'not-exists' };

/** A parsed selector: every requirement must hold. */
export type LabelSelector = LabelRequirement[];

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?';
const KEY = new RegExp(`^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?/)?${NAME}$`);
const VALUE = new RegExp(`^(?:${NAME})?$`);

/** Splits `text` at commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim());
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw invalidInput(`invalid label key '${key}' in label_selector '${selector}'`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value)) throw invalidInput(`invalid label value '${value}' in label_selector '${selector}'`);
  return value;
}

/** Parses a `label_selector` query value. Throws a 422 `invalid_input` CloudApiError on bad syntax. */
export function parseLabelSelector(selector: string): LabelSelector {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map((part): LabelRequirement => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^()]*)\)$/.exec(part);
    if (set) {
      const values = set[3]!.split(',').map((value) => checkValue(value.trim(), selector));
      return { key: checkKey(set[1]!, selector), op: set[2] === 'in' ? 'in' : 'not-in', values };
    }
    const comparison = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (comparison) {
      const op = comparison[2] === '!=' ? 'not-equals' : 'equals';
      return { key: checkKey(comparison[1]!, selector), op, value: checkValue(comparison[3]!, selector) };
    }
    if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), selector), op: 'not-exists' };
    return { key: checkKey(part, selector), op: 'exists' };
  });
}

/** True when `labels` satisfy every requirement of `selector`. */
export function matchesSelector(labels: Readonly<Record<string, string>>, selector: LabelSelector): boolean {
  return selector.every((requirement) => {
    const value = Object.hasOwn(labels, requirement.key) ? labels[requirement.key] : undefined;
    switch (requirement.op) {
      case 'equals':
        return value === requirement.value;
      case 'not-equals':
        return value !== requirement.value;
      case 'in':
        return value !== undefined && requirement.values.includes(value);
      case 'not-in':
        return value === undefined || !requirement.values.includes(value);
      case 'exists':
        return value !== undefined;
      case 'not-exists':
        return value === undefined;
    }
  });
}

/** Checks labels given to a create request. Throws a 422 `invalid_input` CloudApiError naming the bad label. */
export function validateLabels(labels: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!KEY.test(key) || typeof value !== 'string' || !VALUE.test(value)) {
      throw invalidInput(`invalid label '${key}=${String(value)}'`, [{ name: 'labels', messages: [`invalid label '${key}'`] }]);
    }
  }
}

