/** This opsctl's version (kept equal to package.json's by test/cli/version-help.test.ts). */
export const CLIENT_VERSION = '0.1.0';
