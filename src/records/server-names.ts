import { InvalidServerNameError } from './errors.ts';
import { describeValue } from './input.ts';

/** What the server name action knows about the server it names. */
export interface ServerNameContext {
  /** The server's record id (unique, assigned before the name). */
  id: number;
  serverType: string;
  provider: string;
  /** The id of the installation (the records database) the server belongs to; see DynamicServers.installationId. */
  installation: string;
}

/**
 * Chooses the name of a new server. It must return a lowercase DNS label (SERVER_NAME_PATTERN) that no other
 * server has; otherwise the whole change is refused and nothing is written.
 */
export type ServerNameAction = (server: ServerNameContext) => string;

/** A lowercase DNS label: letters, digits and inner dashes, 1 to 63 characters. */
export const SERVER_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** How new servers of an installation are named: the name action, and the installation id it is told. */
export interface ServerNaming {
  serverName: ServerNameAction;
  installation: string;
}

/**
 * `<type>-<id>`, e.g. `worker-42`: the default name before installations had ids. Unique within one installation
 * only: two installations sharing a cloud project would give their servers the same names (which Hetzner refuses).
 */
export const typeAndIdName: ServerNameAction = ({ serverType, id }) => `${serverType}-${id}`;

/**
 * The default server name action: `<type>-<id>-<installation>`, e.g. `worker-42-3f9a0c1d`, so names stay unique in a
 * cloud project that several installations share. The record id is unique in its database, so a type name too long
 * for a 63-character DNS label is shortened from its end without ever giving two servers one name.
 */
export const typeIdAndInstallationName: ServerNameAction = ({ serverType, id, installation }) => {
  const suffix = `-${id}-${installation}`;
  return `${serverType.slice(0, Math.max(1, 63 - suffix.length)).replace(/-+$/, '')}${suffix}`;
};

/** The name the action chose, when it is a lowercase DNS label; otherwise throws InvalidServerNameError. */
export function checkedServerName(name: unknown): string {
  if (typeof name === 'string' && SERVER_NAME_PATTERN.test(name)) return name;
  throw new InvalidServerNameError(`the server name action must return a lowercase DNS label (a-z, 0-9, inner dashes, at most 63 characters), got ${describeValue(name)}`);
}
