import { InvalidServerNameError } from './errors.ts';
import { describeValue } from './input.ts';

/** What the server name action knows about the server it names. */
export interface ServerNameContext {
  /** The server's record id (unique, assigned before the name). */
  id: number;
  serverType: string;
  provider: string;
}

/**
 * Chooses the name of a new server. It must return a lowercase DNS label (SERVER_NAME_PATTERN) that no other
 * server has; otherwise the whole change is refused and nothing is written.
 */
export type ServerNameAction = (server: ServerNameContext) => string;

/** A lowercase DNS label: letters, digits and inner dashes, 1 to 63 characters. */
export const SERVER_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The default server name action: `<type>-<id>`, e.g. `worker-42`. */
export const typeAndIdName: ServerNameAction = ({ serverType, id }) => `${serverType}-${id}`;

/** The name the action chose, when it is a lowercase DNS label; otherwise throws InvalidServerNameError. */
export function checkedServerName(name: unknown): string {
  if (typeof name === 'string' && SERVER_NAME_PATTERN.test(name)) return name;
  throw new InvalidServerNameError(`the server name action must return a lowercase DNS label (a-z, 0-9, inner dashes, at most 63 characters), got ${describeValue(name)}`);
}
