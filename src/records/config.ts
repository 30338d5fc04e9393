import { z } from 'zod';
import { InvalidConfigurationError } from './errors.ts';
import { nameSchema } from './input.ts';
import { jsonObjectSchema, type JsonObject } from './json.ts';
import { secretLookingKeys, templateHash } from './template.ts';

/** The server type that calls without a type use. */
export const DEFAULT_SERVER_TYPE = 'default';

/** The largest maximum a limit may be configured with. */
const MAX_LIMIT = 1_000_000;

/** How a server type is configured. */
export interface ServerTypeOptions {
  /** Name of the provider (cloud) its servers run on. */
  provider: string;
  /** Most provisioned servers of this type at any time; no limit when absent. */
  maximum?: number;
  /** The snapshot template new servers are created from; stored on each server row. Must not hold secrets. */
  template?: JsonObject;
}

/** How a provider is configured. */
export interface ProviderOptions {
  /** Most provisioned servers on this provider at any time, all types together; no limit when absent. */
  maximum?: number;
}

/** What hitting a limit does: create what fits and emit `limitHit` (`'emit'`), or refuse the whole change with ServerLimitError (`'throw'`). */
export type LimitHitPolicy = 'emit' | 'throw';

/** A server type after validation. */
export interface ResolvedServerType {
  name: string;
  provider: string;
  maximum: number | null;
  providerMaximum: number | null;
  template: JsonObject;
  templateHash: string;
}

/** The validated limits and types the records work with. */
export interface RecordsConfig {
  serverTypes: ReadonlyMap<string, ResolvedServerType>;
  onLimitHit: LimitHitPolicy;
}

const limitSchema = z.number().int().min(0).max(MAX_LIMIT);
const configSchema = z.object({
  serverTypes: z.record(nameSchema, z.strictObject({ provider: nameSchema, maximum: limitSchema.optional(), template: jsonObjectSchema.optional() })),
  providers: z.record(nameSchema, z.strictObject({ maximum: limitSchema.optional() })).optional(),
  onLimitHit: z.enum(['emit', 'throw']).optional(),
});

/** Validates the types, providers and limit policy; throws InvalidConfigurationError saying what is wrong. */
export function resolveRecordsConfig(options: {
  serverTypes: Record<string, ServerTypeOptions>;
  providers?: Record<string, ProviderOptions>;
  onLimitHit?: LimitHitPolicy;
}): RecordsConfig {
  const parsed = configSchema.safeParse({ serverTypes: options.serverTypes, providers: options.providers, onLimitHit: options.onLimitHit });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`);
    throw new InvalidConfigurationError(`invalid options: ${problems.join('; ')}`);
  }
  const { serverTypes, providers = {}, onLimitHit = 'emit' } = parsed.data;
  if (Object.keys(serverTypes).length === 0) throw new InvalidConfigurationError('invalid options: serverTypes must configure at least one server type');
  const resolved = new Map<string, ResolvedServerType>();
  for (const [name, type] of Object.entries(serverTypes)) {
    const template = type.template ?? {};
    const secrets = secretLookingKeys(template);
    if (secrets.length > 0) {
      throw new InvalidConfigurationError(
        `invalid options: the template of server type "${name}" has keys that look like secrets (${secrets.join(', ')}); templates are stored on server rows, keep secrets in Pulumi secure config`,
      );
    }
    resolved.set(name, {
      name,
      provider: type.provider,
      maximum: type.maximum ?? null,
      providerMaximum: providers[type.provider]?.maximum ?? null,
      template,
      templateHash: templateHash(template),
    });
  }
  return { serverTypes: resolved, onLimitHit };
}
