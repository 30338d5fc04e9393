/** The worker's HTTP settings cannot be used (a bad port, a non-loopback address without a token, ...). Nothing started. */
export class OperationsConfigError extends Error {
  override name = 'OperationsConfigError';
}

/** The worker's HTTP server could not listen (the port is taken, the address is not on this machine, ...). */
export class OperationsListenError extends Error {
  override name = 'OperationsListenError';
}

/** A request to the worker's HTTP server has a bad parameter; answered with 400 and this message. */
export class OperationsRequestError extends Error {
  override name = 'OperationsRequestError';
}
