/**
 * The shared core of `flags set|enable|disable`: read the flag (for its type
 * and the old value), write the typed value, show old → new.
 */
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { ensureReason } from '../../confirm.js';
import { checkArgument } from '../../params/parse-params.js';
import { standardEndpoint } from '../../command.js';
import { coerceFlagValue, showValue, type FlagView } from './flag-types.js';
import { quoted, withArticle } from '../../../protocol/wording.js';

export async function setFlag(f: Factory, name: string, value: { raw: string } | { boolean: boolean }): Promise<void> {
  checkArgument(standardEndpoint('flags.set'), 'name', name);
  await ensureReason(f, `changing flag ${quoted(name)}`);
  const client = await f.client();
  const before = await client.call<FlagView>('flags.get', { name });
  let typed: boolean | number | string;
  if ('boolean' in value) {
    if (before.type !== 'boolean') throw new UsageError(`flag ${quoted(name)} is ${withArticle(before.type)}, not a boolean: use opsctl flags set ${name} VALUE`);
    typed = value.boolean;
  } else {
    typed = coerceFlagValue(before, value.raw);
  }
  const after = await client.call<FlagView>('flags.set', { name, value: typed });
  const out = await f.output();
  out.emit({ name, old: before.value, new: after.value, flag: after }, () => {
    const c = out.colors;
    const same = before.value === after.value;
    out.line(`${name}: ${showValue(before.value)} → ${c.bold(showValue(after.value))}`);
    if (same) out.note(c.dim('(value unchanged)'));
  });
}
