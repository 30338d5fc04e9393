import { basename } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { StackConfigError, type StackConfigProblem } from './errors.ts';

/** Config namespace of this project's own keys (the project name in Pulumi.yaml). */
export const NAMESPACE = 'dynamic-servers';

/** A server type as its reviewed stack file defines it. Secret values stay encrypted (`secure:`) and are not here. */
export interface ServerTypeConfig {
  /** The type's name, from the file name `Pulumi.<type>.yaml`; also the Pulumi stack name. */
  type: string;
  file: string;
  /** Name of the provider module in providers/ (e.g. `local`, `hcloud`, `aws`). */
  provider: string;
  /** The snapshot template new servers of this type are created from; the provider checks its fields. */
  template: Readonly<Record<string, unknown>>;
  /** At most this many provisioned servers of the type; undefined means no per-type limit. */
  maxServers?: number;
  /** Seconds a server may spend booting, stopping or being deleted before it is marked hanging. */
  timeouts: { bootSeconds: number; stopSeconds: number; deleteSeconds: number };
  /** Config keys (any namespace) whose values are `secure:` secrets. */
  secretKeys: string[];
}

/** Server type names: usable as stack names, label values and host-name parts. */
export const SERVER_TYPE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Key names that hold credentials: their values must be `secure:`, never plain text. */
const SECRET_LOOKING_KEY = /(token|secret|password|passphrase|private.?key|access.?key|credential)/i;

const DEFAULT_TIMEOUT_SECONDS = 600;

const seconds = z.number().int().min(1).max(86_400);
const ownKeys = {
  provider: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a provider module name such as local, hcloud or aws'),
  template: z.record(z.string(), z.unknown()),
  maxServers: z.number().int().min(0).max(10_000),
  bootTimeoutSeconds: seconds,
  stopTimeoutSeconds: seconds,
  deleteTimeoutSeconds: seconds,
} as const;
type OwnKey = keyof typeof ownKeys;
const REQUIRED: readonly OwnKey[] = ['provider', 'template'];

function lineOf(document: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/**
 * Parses and validates the text of `stacks/Pulumi.<type>.yaml`. Returns the server type, or throws
 * StackConfigError listing every problem with its file, key and line: a missing or unknown
 * `dynamic-servers:` key, a value of the wrong shape, or a credential-looking key in plain text.
 */
export function parseServerTypeConfig(file: string, text: string): ServerTypeConfig {
  const problems: StackConfigProblem[] = [];
  const type = /^Pulumi\.(.+)\.yaml$/.exec(basename(file))?.[1] ?? '';
  if (!SERVER_TYPE_NAME.test(type)) {
    problems.push({ file, key: '(file)', problem: `the file name must be Pulumi.<type>.yaml with a type of 1-63 lowercase letters, digits or inner dashes` });
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  for (const error of document.errors) {
    problems.push({ file, key: '(file)', problem: `not valid YAML: ${error.message.split('\n')[0]}`, line: lines.linePos(error.pos[0]).line });
  }
  if (problems.length > 0) throw new StackConfigError(problems);

  const config = document.get('config', true);
  if (!isMap(config)) throw new StackConfigError([{ file, key: 'config', problem: 'must be a mapping of config keys' }]);

  const own: Partial<Record<OwnKey, unknown>> = {};
  const secretKeys: string[] = [];
  for (const pair of config.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(document, lines, ['config', key]);
    const value: unknown = isScalar(pair.value) ? pair.value.value : (pair.value as { toJSON(): unknown } | null)?.toJSON();
    const isSecure = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'secure' in value;
    if (isSecure) {
      secretKeys.push(key);
      continue;
    }
    if (SECRET_LOOKING_KEY.test(key.split(':')[1] ?? key)) {
      problems.push({ file, key, line, problem: 'looks like a credential and must be a secret: set it with `pulumi config set --secret` so the file holds only a `secure:` value' });
      continue;
    }
    const [namespace, name = ''] = key.split(':');
    if (namespace !== NAMESPACE) continue; // provider settings such as hcloud:endpoint belong to the provider
    if (!(name in ownKeys)) {
      problems.push({ file, key, line, problem: `unknown key; expected one of ${Object.keys(ownKeys).map((k) => `${NAMESPACE}:${k}`).join(', ')}` });
      continue;
    }
    const parsed = ownKeys[name as OwnKey].safeParse(value);
    if (!parsed.success) {
      problems.push({ file, key, line, problem: `${parsed.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(value)})` });
      continue;
    }
    own[name as OwnKey] = parsed.data;
  }
  for (const name of REQUIRED) {
    if (own[name] === undefined && !problems.some((problem) => problem.key === `${NAMESPACE}:${name}`)) {
      problems.push({ file, key: `${NAMESPACE}:${name}`, problem: 'is required' });
    }
  }
  if (problems.length > 0) throw new StackConfigError(problems);

  return {
    type,
    file,
    provider: own.provider as string,
    template: own.template as Record<string, unknown>,
    ...(own.maxServers === undefined ? {} : { maxServers: own.maxServers as number }),
    timeouts: {
      bootSeconds: (own.bootTimeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS,
      stopSeconds: (own.stopTimeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS,
      deleteSeconds: (own.deleteTimeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS,
    },
    secretKeys,
  };
}
