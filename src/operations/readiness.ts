// `/readyz`: the parts a worker needs, each checked with a time limit.

/** One part a worker needs, and how to see that it answers (resolves) or not (throws). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

/** What `/readyz` answers: ready when every check passed; a failed check says why. */
export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; error?: string }[];
}

/** How long one check may take before it counts as failed (milliseconds). */
export const CHECK_TIMEOUT_MS = 3000;

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check at once (each at most `timeoutMs`) and reports; never throws. */
export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(Promise.resolve().then(check), timeoutMs);
        return { name, ok: true };
      } catch (error) {
        return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return { ready: results.every((result) => result.ok), checks: results };
}
