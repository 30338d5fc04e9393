// Label selectors with the Hetzner Cloud API's syntax: `k=v` (or `k==v`), `k!=v`, `k`, `!k`, `k in (a,b)` and
// `k notin (a,b)`, joined by commas; a resource matches when it matches every expression.
import { ApiError } from './errors.ts';

type Expression = (labels: Readonly<Record<string, string>>) => boolean;

/** Splits on commas outside parentheses. */
function splitTop(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function parseExpression(text: string): Expression {
  let match: RegExpExecArray | null;
  if ((match = /^([^\s=!(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text))) {
    const [, key, operator, list] = match as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((value) => value.trim()));
    return operator === 'in' ? (labels) => Object.hasOwn(labels, key) && values.has(labels[key]!) : (labels) => !Object.hasOwn(labels, key) || !values.has(labels[key]!);
  }
  if ((match = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(text))) {
    const [, key, operator, value] = match as unknown as [string, string, string, string];
    return operator === '!=' ? (labels) => labels[key] !== value : (labels) => Object.hasOwn(labels, key) && labels[key] === value;
  }
  if ((match = /^!([^\s=!(),]+)$/.exec(text))) {
    const key = match[1]!;
    return (labels) => !Object.hasOwn(labels, key);
  }
  if ((match = /^([^\s=!(),]+)$/.exec(text))) {
    const key = match[1]!;
    return (labels) => Object.hasOwn(labels, key);
  }
  throw new ApiError('invalid_input', `invalid label_selector expression '${text}'`);
}

/** A predicate for `selector`; throws ApiError invalid_input for a malformed one. An empty selector matches all. */
export function parseLabelSelector(selector: string): Expression {
  const expressions = splitTop(selector).map(parseExpression);
  return (labels) => expressions.every((expression) => expression(labels));
}
