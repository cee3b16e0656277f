/**
 * Ctrl-C while a command waits on something long (a job, a watch loop).
 * While a listener is installed Node does not exit on SIGINT, so the command
 * gets to detach cleanly and say how to pick up again.
 */

export interface InterruptWatch {
  /** Aborted on SIGINT (or when the injected signal aborts). */
  readonly signal: AbortSignal;
  dispose(): void;
}

/** Watches for Ctrl-C until disposed. `also` lets tests interrupt without signalling the process. */
export function watchInterrupt(also?: AbortSignal): InterruptWatch {
  const ac = new AbortController();
  const onSigint = () => ac.abort(new Error('SIGINT'));
  process.on('SIGINT', onSigint);
  const onAlso = () => ac.abort(also?.reason);
  if (also?.aborted) ac.abort(also.reason);
  else also?.addEventListener('abort', onAlso, { once: true });
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSigint);
      also?.removeEventListener('abort', onAlso);
    },
  };
}

/** Resolves after `ms`, or early (false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
