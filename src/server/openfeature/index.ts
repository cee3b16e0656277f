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
import { OpsctlProvider, type FlagSource } from './opsctl-provider.js';

export { OpsctlProvider, type FlagSource };
export { rolloutBucket, inRollout } from '../flags/rollout.js';

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
