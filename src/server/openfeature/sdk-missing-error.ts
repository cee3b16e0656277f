/**
 * opsctl/server/openfeature was imported without its optional peer
 * dependency, the OpenFeature server SDK: thrown at import, naming the
 * package to install (README, "Put the internal port into your service").
 */
export class OpenFeatureSdkMissingError extends Error {
  readonly code = 'OPSCTL_OPENFEATURE_SDK_MISSING';

  constructor(cause: unknown) {
    super('opsctl/server/openfeature needs the OpenFeature server SDK, an optional peer dependency of opsctl: npm install @openfeature/server-sdk', { cause });
    this.name = 'OpenFeatureSdkMissingError';
  }
}
