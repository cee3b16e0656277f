import path from 'node:path';
import { InternalPortConfigError } from '../config-error.js';
import { checkListenTarget, type ListenTarget } from '../listen/listen.js';
import type { OfrepOptions } from '../options.js';

const WHAT = 'the OFREP listener';

/**
 * The bind target of an `ofrep.listen` string, checked like the port's own
 * (listen/listen.ts) but with no way off loopback: the listener is unsigned.
 * `unix:/abs/path.sock` → a unix socket (0600, or socketMode 0660);
 * `127.0.0.1:PORT`, `[::1]:PORT`, `localhost:PORT` → loopback TCP (a name is
 * resolved before the bind and must resolve to loopback only).
 */
export function ofrepListenTarget(o: OfrepOptions): ListenTarget {
  const fail = (why: string): never => { throw new InternalPortConfigError(`ofrep: ${why}`); };
  if (!o || typeof o !== 'object') fail('must be an object {listen}');
  const { listen, socketMode } = o;
  if (typeof listen !== 'string' || listen === '') fail('listen is required: "unix:/path.sock", "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT"');
  if (socketMode !== undefined && socketMode !== '0600' && socketMode !== '0660') fail(`socketMode must be "0600" or "0660", not ${JSON.stringify(socketMode)}`);
  let target: ListenTarget;
  if (listen.startsWith('unix:')) {
    const socketPath = listen.slice('unix:'.length);
    if (!path.isAbsolute(socketPath) || socketPath.includes('\0')) fail(`listen ${JSON.stringify(listen)}: the socket path must be absolute (unix:/run/orders/ofrep.sock)`);
    target = { socketPath, socketMode: socketMode === '0660' ? 0o660 : 0o600, what: WHAT, overridable: false };
  } else {
    if (socketMode !== undefined) fail('socketMode is for a unix: listener');
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+):(\d{1,5})$/.exec(listen);
    if (!m) fail(`listen ${JSON.stringify(listen)} is neither "unix:/path.sock" nor HOST:PORT (127.0.0.1:8016, [::1]:8016, localhost:8016)`);
    target = { host: m![1]!, port: Number(m![2]), what: WHAT, overridable: false };
  }
  try {
    checkListenTarget(target);
  } catch (e) {
    // The loopback refusal names the OFREP listener already; "invalid port" does not.
    if (e instanceof InternalPortConfigError && !/OFREP/.test(e.message)) fail(`listen ${JSON.stringify(listen)}: ${e.message}`);
    throw e;
  }
  return target;
}
