/**
 * Helpers every command file uses. A command file exports `register(parent, f)`,
 * which declares the commander command, and a separately testable `run(f, opts)`.
 */
import type { Command } from 'commander';
import { STANDARD_ENDPOINTS, type EndpointDescriptor } from '../protocol/catalog.js';
import type { Factory } from './factory.js';
import { READ_ONLY_POSTS } from '../protocol/approvals.js';
import { approvalText } from './approvals/approval-text.js';
import { roleText } from './commands/endpoints/role-text.js';
import { recordCompletions, readCompletionCache, ADHOC_CONTEXT, type LiveKind } from './completion/cache.js';

export type Register = (parent: Command, f: Factory) => void;

/** A standard endpoint's descriptor by id (a programming error when unknown). */
export function standardEndpoint(endpointId: string): EndpointDescriptor {
  const ep = STANDARD_ENDPOINTS.find((e) => e.id === endpointId);
  if (!ep) throw new Error(`no standard endpoint ${endpointId}`);
  return ep;
}

/** The summary of a standard endpoint, so help text comes from the catalog definitions. */
export function summaryOf(endpointId: string): string {
  const ep = STANDARD_ENDPOINTS.find((e) => e.id === endpointId);
  if (!ep) throw new Error(`no standard endpoint ${endpointId}`);
  return ep.summary;
}

/** Help text footer naming the endpoint, role and destructiveness. */
export function endpointHelp(endpointId: string): string {
  const ep = STANDARD_ENDPOINTS.find((e) => e.id === endpointId)!;
  return `\nEndpoint: ${ep.id} (${ep.method} ${ep.path}), role ${roleText(ep)}${ep.destructive ? ', destructive: asks first (--yes to skip)' : ''}.\n${ep.description}${reviewHelp(ep)}`;
}

/**
 * For mutating endpoints: approvals and dry-run, which every such command
 * supports through the client (src/cli/approvals/).
 */
function reviewHelp(ep: EndpointDescriptor): string {
  if (ep.method === 'GET' || READ_ONLY_POSTS.includes(ep.id) || ep.id.startsWith('approvals.')) return '';
  const policy = ep.approval ? `This endpoint needs ${approvalText(ep.approval)}. ` : '';
  return `\nApproval: ${policy}Where the service requires approval (opsctl endpoints, APPROVAL column), the request is held and this command prints the approval id and the line a second person runs, then waits (--no-wait: print and exit 0; rejected or expired: exit 4); admins may --break-glass "reason" where allowed. --dry-run: the server checks everything and applies nothing.`;
}

/**
 * Records live values (flag names, task names, migration ids, job ids,
 * endpoint ids) in the completion cache of the current context, so TAB can
 * offer them offline. `append` keeps the values already cached (job ids).
 * Best effort: never fails a command.
 */
export async function remember(f: Factory, kind: LiveKind, values: string[], opts: { append?: boolean } = {}): Promise<void> {
  try {
    const ctx = await f.context();
    const previous = opts.append ? readCompletionCache(f.io.env, ctx.name ?? ADHOC_CONTEXT)?.values[kind] ?? [] : [];
    // Newest first, so a bounded cache drops the oldest.
    recordCompletions(f.io.env, ctx.name, kind, [...values, ...previous]);
  } catch {
    /* no context, unwritable cache: completion is a convenience */
  }
}

/**
 * `opsctl NOUN` alone runs its listing, `opsctl NOUN VERB` (README, "Command
 * tree": tasks → tasks list, migrate → migrate status, audit → audit tail):
 * what an operator typing the noun wants to see, instead of the noun's
 * help. Options go to the listing (`opsctl tasks -o json`); a word that is
 * no command of the noun is still "unknown command", not an argument of
 * the listing.
 */
export function listsByDefault(noun: Command, verb: string): void {
  const target = noun.commands.find((c) => c.name() === verb);
  if (!target) throw new Error(`${noun.name()} has no command ${verb}`);
  // commander's own default-subcommand slot (what `.command(name, { isDefault: true })` sets).
  (noun as unknown as { _defaultCommandName: string | null })._defaultCommandName = verb;
  noun.hook('preSubcommand', (self, sub) => {
    const first = self.args[0];
    if (sub === target && first !== undefined && !first.startsWith('-') && first !== verb) {
      (self as unknown as { unknownCommand(): never }).unknownCommand();
    }
  });
  noun.addHelpText('after', `\nWith no command, opsctl ${noun.name()} runs opsctl ${noun.name()} ${verb}.`);
}
