/**
 * Examples per command, keyed by command path. program.ts appends them to
 * each command's --help ("Examples:"), and the man page renders that same
 * help text from the command tree, so the two never disagree.
 */
export const COMMAND_EXAMPLES: Record<string, Array<[string, string]>> = {
  health: [['Is the service up, as a script sees it', 'opsctl health -o json | jq -r .status']],
  endpoints: [['Every endpoint of the service, its own included', 'opsctl endpoints']],
  call: [
    ['Call a service endpoint with typed params', 'opsctl call orders.stats --param detailed=true'],
    ['Params as one JSON object', 'opsctl call cache.flush --body \'{"region":"eu"}\' --yes'],
  ],
  doctor: [['Which hop fails, and what to do about it', 'opsctl doctor']],
  'migrate status': [['Applied and pending migrations', 'opsctl migrate status']],
  'migrate plan': [['What `up` would apply, and the hash that pins it', 'opsctl migrate plan -o json']],
  'migrate up': [
    ['Review, then apply exactly the reviewed plan', 'opsctl migrate up'],
    ['From a runbook (no question), saying why', 'opsctl migrate up --yes --reason "release 42"'],
  ],
  'migrate down': [['Revert everything after a migration', 'opsctl migrate down --to 0001-create-orders --reason "roll back 42"']],
  'flags list': [['Every flag with its type, value and who set it', 'opsctl flags list']],
  'flags get': [['One flag\'s value, for a script', 'opsctl flags get maintenance_mode -o json | jq .value']],
  'flags set': [['Set a typed value (checked by the service)', 'opsctl flags set max_page_size 100 --reason "load test"']],
  'flags enable': [['Turn a boolean flag on', 'opsctl flags enable maintenance_mode']],
  'flags disable': [['Turn a boolean flag off', 'opsctl flags disable maintenance_mode']],
  metrics: [['Watch some metrics', 'opsctl metrics --filter requests --watch']],
  'tasks list': [['Tasks, their role and params', 'opsctl tasks list']],
  'tasks run': [
    ['Run a task and follow it to the end', 'opsctl tasks run recompute-totals --param batchSize=100 --follow'],
    ['Start it, keep the id, wait later', 'ID=$(opsctl tasks run recompute-totals)\nopsctl jobs wait "$ID"'],
    ['A secret param, read from a file (never from the command line)', 'opsctl tasks run rotate-webhook-secret --param secret=@secret.txt'],
  ],
  'jobs list': [['Recent and running jobs', 'opsctl jobs list']],
  'jobs status': [['A job\'s state (exit 1 when it failed)', 'opsctl jobs status "$ID"']],
  'jobs logs': [['Re-attach to a job after a dropped connection', 'opsctl jobs logs "$ID" --follow']],
  'jobs wait': [['Block a runbook until the job ends, at most 10 minutes', 'opsctl jobs wait "$ID" --timeout 600']],
  'jobs cancel': [['Ask a job to stop at its next safe point', 'opsctl jobs cancel "$ID" --reason "wrong batch size"']],
  'approvals watch': [
    ['An approver at a terminal: every context, as requests arrive', 'opsctl approvals watch --all-contexts'],
    ['A script: NDJSON lines for ten minutes, then the count still pending', 'opsctl approvals watch -o json --for 10m | tail -n 1 | jq .pending'],
  ],
  'notify status': [['Where events go, and the key that signs them', 'opsctl notify status']],
  'notify test': [['Send a signed test event to every endpoint', 'opsctl notify test']],
  'audit tail': [['Follow the audit log', 'opsctl audit tail -n 50 --follow']],
  'audit verify': [['Check the hash chain', 'opsctl audit verify']],
  'keys generate': [['A new key in the OS keychain, and the allowlist line for it', 'opsctl keys generate alice']],
  'keys public': [['The line to add to the service\'s allowlist', 'opsctl keys public alice']],
  'context add': [['Save a target once', 'opsctl context add prod --bastion ops@bastion.example.com --host app1.internal --identity keychain:alice --protected']],
  'context use': [['Switch the current context', 'opsctl context use staging']],
  'context current': [['Which context commands use now', 'opsctl context current']],
  tunnel: [['Hold one connection open for later commands', 'opsctl tunnel']],
  completion: [['TAB completion for bash', 'echo \'source <(opsctl completion bash)\' >> ~/.bashrc']],
  version: [['Client, protocol and server versions', 'opsctl version -o json']],
  help: [['Help for one command', 'opsctl help migrate up']],
};

/** The "Examples:" block for a command's --help, or '' when it has none. */
export function examplesHelp(path: string): string {
  const list = COMMAND_EXAMPLES[path];
  if (!list?.length) return '';
  return `\nExamples:\n${list.map(([what, cmd]) => `  # ${what}\n${cmd.split('\n').map((l) => `  $ ${l}`).join('\n')}`).join('\n')}`;
}
