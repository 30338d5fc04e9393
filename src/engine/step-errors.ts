import type { ProviderError, ServerProvider } from '../../providers/contract.ts';
import type { ServerError } from '../records/records.ts';
import type { ResourceFailure } from './pulumi-adapter.ts';

/** A failed step of `pulumi up` as the engine acts on it. */
export interface StepError {
  /** The typed error the provider reads in the step's text (an InsufficientCapacityError moves a server on to its next offering), or undefined when the text names none. */
  typed: ProviderError | undefined;
  /** The error recorded on the server: the typed error's class, or `StackUpdateError` when the text names none, with the text as the message. */
  error: ServerError;
}

/**
 * Classifies the failed step of a server in `pulumi up`: the typed error the provider reads in the step's text
 * (`provider.parseDeploymentError`: a dynamic provider's tag, a native plugin's cloud error code), and the error the
 * server's row records.
 */
export function stepError(provider: ServerProvider, failure: ResourceFailure): StepError {
  const typed = provider.parseDeploymentError(failure.message);
  return { typed, error: { class: typed?.name ?? 'StackUpdateError', message: failure.message, stack: null } };
}
