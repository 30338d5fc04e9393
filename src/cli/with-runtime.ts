import { openRuntime, type Runtime } from '../runtime.ts';

/**
 * Opens the deployment's Runtime from the environment (see runtimeSettings), runs `work` on it and closes it,
 * whether `work` succeeds or throws; resolves with what `work` returned. Errors reach the caller unchanged.
 */
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime();
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}
