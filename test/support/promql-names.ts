// The metric names a PromQL expression reads, for checking that dashboards and alert rules name only metrics that
// are exported. Enough PromQL for our own files: selectors, functions, aggregations with by/without, binary
// operators with on/ignoring, ranges, offsets and string literals.

/** Words of PromQL that are not metric names when they stand outside a function call. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** The metric names `expression` selects, in order of appearance, each once. */
export function metricNamesIn(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+\S+/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const next = stripped.slice(match.index + word.length).trimStart();
    if (next.startsWith('(') || KEYWORDS.has(word.toLowerCase()) || names.includes(word)) continue;
    names.push(word);
  }
  return names;
}
