import type { ServerProvider } from '../../providers/contract.ts';
import type { ServerError } from '../records/records.ts';
import type { ResourceFailure } from './pulumi-adapter.ts';

/**
 * The error recorded on a server whose step failed in `pulumi up`: the class of the typed error the provider reads
 * in the step's text (`provider.parseDeploymentError`: a dynamic provider's tag, a native plugin's cloud error code),
 * or `StackUpdateError` when the text names none, with the text as the message.
 */
export function stepError(provider: ServerProvider, failure: ResourceFailure): ServerError {
  const typed = provider.parseDeploymentError(failure.message);
  return { class: typed?.name ?? 'StackUpdateError', message: failure.message, stack: null };
}
