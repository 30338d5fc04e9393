/** One problem in one stack file: where it is and what is wrong. */
export interface StackConfigProblem {
  /** Path of the file, as given to the loader. */
  file: string;
  /** The config key (e.g. `dynamic-servers:maxServers`), or `(file)` for the file as a whole. */
  key: string;
  problem: string;
  /** 1-based line of the offending value, when known. */
  line?: number;
}

/** Formats a problem as `file:line: key: problem`, the shape editors and CI logs link to. */
export function formatProblem(problem: StackConfigProblem): string {
  return `${problem.file}${problem.line ? `:${problem.line}` : ''}: ${problem.key}: ${problem.problem}`;
}

/** A stack file (or several) failed validation; `problems` lists every problem found, not only the first. */
export class StackConfigError extends Error {
  override name = 'StackConfigError';
  readonly problems: readonly StackConfigProblem[];

  constructor(problems: readonly StackConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}
