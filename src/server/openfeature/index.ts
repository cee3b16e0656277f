/**
 * opsctl/server/openfeature — the internal port's flags through the
 * OpenFeature SDK (`@openfeature/server-sdk`, a peer dependency of this
 * entry point only):
 *
 *   import { OpenFeature } from '@openfeature/server-sdk';
 *   import { createOpenFeatureProvider } from 'opsctl/server/openfeature';
 *   await OpenFeature.setProviderAndWait(createOpenFeatureProvider(port));
 *   const flags = OpenFeature.getClient();
 *   if (await flags.getBooleanValue('new_checkout', false, { targetingKey: user.id })) …
 *
 * See src/server/README.md, "OpenFeature".
 */
import type { FlagSource, OpsctlProvider as ProviderClass } from './opsctl-provider.js';
import { OpenFeatureSdkMissingError } from './sdk-missing-error.js';

// The SDK is an optional peer of this entry only. A static import of it would
// fail while modules link, with Node's bare ERR_MODULE_NOT_FOUND; loading the
// provider here lets a missing SDK be named, with the command that installs it.
let provider: typeof import('./opsctl-provider.js');
try {
  provider = await import('./opsctl-provider.js');
} catch (e) {
  const err = e as { code?: unknown; message?: unknown };
  if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes("'@openfeature/server-sdk'")) throw new OpenFeatureSdkMissingError(e);
  throw e;
}

/** The provider class (see createOpenFeatureProvider). */
export const OpsctlProvider: typeof ProviderClass = provider.OpsctlProvider;
export type OpsctlProvider = ProviderClass;
export type { FlagSource };
export { rolloutBucket, inRollout } from '../flags/rollout.js';
export { OpenFeatureSdkMissingError } from './sdk-missing-error.js';

/**
 * The provider for `OpenFeature.setProvider()`, over an InternalPort (or its
 * `flags`). boolean, number (integer, number, percentage) and string flags
 * resolve typed; a percentage flag also resolves as a boolean rollout for an
 * evaluation context with a targetingKey. Every change of a flag (this
 * port's flags.set, or another replica's through a shared store) emits
 * PROVIDER_CONFIGURATION_CHANGED naming it.
 */
export function createOpenFeatureProvider(source: FlagSource): OpsctlProvider {
  return new OpsctlProvider(source);
}
