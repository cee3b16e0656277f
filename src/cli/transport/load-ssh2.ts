/**
 * ssh2 costs ~35 ms to import, so it is loaded only when a connection is
 * actually made: `--help`, completion and config commands never pay for it.
 */
export type Ssh2Module = typeof import('ssh2');

let loading: Promise<Ssh2Module> | undefined;

/** The ssh2 module, imported on first use. */
export function loadSsh2(): Promise<Ssh2Module> {
  // ssh2 is CommonJS: depending on the loader its exports sit on `default`.
  loading ??= import('ssh2').then((m) => ((m as unknown as { default?: Ssh2Module }).default ?? m) as Ssh2Module);
  return loading;
}
