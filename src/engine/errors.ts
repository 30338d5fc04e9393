/** Base of the stack engine's errors; tell them apart with instanceof. */
export class StackEngineError extends Error {
  override name = 'StackEngineError';
}

/** A server type names a provider module that does not exist, or leaves out a setting the provider needs. */
export class ProviderConfigurationError extends StackEngineError {
  override name = 'ProviderConfigurationError';
}

/** The type's stack is locked by an update whose owner may still be alive (another host, or a live process). */
export class StackBusyError extends StackEngineError {
  override name = 'StackBusyError';
}

/** `pulumi up` failed as a whole (not one server's step): nothing was recorded as applied. */
export class StackUpdateError extends StackEngineError {
  override name = 'StackUpdateError';
}

/** A type's drain hook module cannot be loaded, or exports no `drainServer` function. */
export class DrainHookError extends StackEngineError {
  override name = 'DrainHookError';
}
