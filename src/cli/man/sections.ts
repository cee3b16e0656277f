/**
 * The prose sections of the man page that do not come from the command tree.
 * Plain text here; render.ts escapes it. `[[x]]` marks a literal (bold) term,
 * `{{x}}` a placeholder (italic).
 */

export const NAME_LINE = 'reach a service\'s internal port through SSH bastions: signed, audited operational control';

export const DESCRIPTION = [
  `A service exposes an internal port: a second HTTP listener, bound to loopback on its own host, that serves a small documented set of operational endpoints (health, migrations, feature flags, metrics, maintenance tasks, jobs, the audit log) and nothing else.`,
  `[[opsctl]] is the operator's side. It opens an SSH connection through zero or more bastions to the service host, opens a direct-tcpip channel there to 127.0.0.1:{{port}}, and speaks HTTP over that channel. No local port is opened for one-shot commands. Every request is signed with the operator's Ed25519 key (RFC 9421 HTTP Message Signatures), so the service knows who asked, checks their role and writes the request to its hash-chained audit log.`,
  `The target comes from a context in the config file, or from the global options, so a runbook needs no config file. Hosts named in ~/.ssh/config resolve as OpenSSH would (HostName, User, Port, IdentityFile, ProxyJump).`,
  `Destructive actions (applying or reverting migrations, destructive tasks) first show what will happen, then ask. A context marked protected makes the operator type its name; [[--yes]] skips the question; without a terminal and without [[--yes]] nothing is sent.`,
  `With [[-o json]] the result is exactly one JSON document on standard output (NDJSON for [[--follow]] streams); notes, progress and colour go to standard error.`,
  `On a terminal, tables fit its width: the column naming what you type next (a flag, task or migration name, a job or approval id, a host) is never cut, descriptions are cut to one line ending in an ellipsis, and secondary columns are left out with a note; [[--wide]] cuts nothing. Piped, a table is tab-separated and whole.`,
];

/** Commands this page cannot list: they come from the service a context reaches. */
export const SERVICE_COMMANDS = [
  `A service's own endpoints are commands too, once opsctl has cached the service's catalog for the context: any command that fetches the catalog ([[opsctl endpoints]], [[call]], [[doctor]], [[version]], and each service command) caches it. The endpoint [[lb.disable]] with the param [[server]] is [[opsctl lb disable --server]] {{NAME}}, the same request as [[opsctl call lb.disable --param server=]]{{NAME}}. Params are typed options (integers, numbers, enums with their choices, booleans with a [[--no-]] twin, JSON objects and arrays); a required param is a mandatory option; a secret param takes [[@]]{{FILE}} or [[-]] (standard input), or is asked for without echo. A param named like an option of opsctl's own is given as [[--param]] {{NAME}}[[=]]{{VALUE}}.`,
  `A service command behaves as [[opsctl call]]: confirmation for destructive endpoints, approvals, [[--dry-run]], [[-o json]], fleets and exit status. What a request does is decided by the catalog fetched for it, never by the cache. An endpoint whose first word is a built-in command gets no command of its own; [[opsctl call]] reaches it, and a warning names it.`,
  `This page, the completion files and [[opsctl help]] for built-in commands describe the built-in commands only. [[opsctl --help]] lists the service commands of the current context, [[opsctl]] {{COMMAND}} [[--help]] describes one, and TAB completes them from the cache.`,
];

export const ENVIRONMENT: Array<[string, string]> = [
  ['OPSCTL_CONFIG', 'The config file to use, instead of $XDG_CONFIG_HOME/opsctl/config.yaml.'],
  ['OPSCTL_CONTEXT', 'The context to use when [[--context]] is not given; overrides current-context of the config file.'],
  ['XDG_CONFIG_HOME', 'Base of the config directory (default ~/.config): config.yaml and opsctl\'s own known_hosts live in $XDG_CONFIG_HOME/opsctl/.'],
  ['XDG_CACHE_HOME', 'Base of the cache directory (default ~/.cache): the per-context completion cache lives in $XDG_CACHE_HOME/opsctl/.'],
  ['XDG_RUNTIME_DIR', 'Where [[opsctl tunnel]] puts the socket later commands reuse ($XDG_RUNTIME_DIR/opsctl/; default a private directory under the system temporary directory).'],
  ['SSH_AUTH_SOCK', 'The ssh-agent socket, used by [[--identity agent]] (and by default when no identity is configured). The agent signs; the key never leaves it.'],
  ['NO_COLOR', 'When set and not empty, no colour is written (like [[--no-color]]).'],
  ['HOME', 'Where ~/.ssh/config, ~/.ssh/known_hosts and ~/.ssh/id_ed25519 are looked up.'],
];

export const FILES: Array<[string, string]> = [
  ['[[$XDG_CONFIG_HOME/opsctl/config.yaml]]', 'Contexts and current-context, written by [[opsctl context]] (mode 0600, directory 0700).'],
  ['[[$XDG_CONFIG_HOME/opsctl/known_hosts]]', 'Host keys opsctl recorded after asking (trust on first use, on a terminal only), or named by their fingerprint with [[opsctl doctor --accept-host-key]].'],
  ['[[~/.ssh/known_hosts]]', 'Also checked for host keys (hashed entries too), unless [[--known-hosts]] or the context names another file.'],
  ['[[~/.ssh/config]]', 'Host aliases, users, ports, identity files and ProxyJump, as OpenSSH reads them.'],
  ['[[$XDG_CACHE_HOME/opsctl/]]{{context}}[[.json]]', 'Names seen by the last successful commands (flags, tasks, migrations, jobs, endpoints) for shell completion. Completion only reads it.'],
  ['[[$XDG_CACHE_HOME/opsctl/]]{{context}}[[.catalog.json]]', 'The service\'s own endpoints as last fetched for the context (mode 0600): the service commands come from it.'],
];

export const SECURITY = [
  `Every request carries an RFC 9421 signature (label opsctl, alg ed25519) over "@method", "@path", "@query" and "opsctl-instance" (the random id of the running instance of the port, which it sends on every answer), plus "content-digest" (RFC 9530, sha-256) when there is a body and the headers "opsctl-reason", "idempotency-key", "opsctl-dry-run" and "opsctl-break-glass" whenever they are sent, with the parameters created, nonce, keyid and alg. The keyid is the OpenSSH SHA256 fingerprint of the operator's key. The server accepts a request only if the key is in its allowlist, the signature verifies, created is within 60 seconds of its clock, the nonce is new, the instance id is its own and the digest matches the body; anything else is refused with 401 and nothing runs, so captured bytes are good neither after a restart nor on another replica. A key without the role an endpoint needs gets 403.`,
  `The same Ed25519 key authenticates every SSH hop. It comes from the OS keychain ([[keychain:]]{{NAME}}), from ssh-agent ([[agent]]) or from a key file, which must be readable by its owner only. No secret is ever written to a log, an error message, the command line or a temporary file.`,
  `Host keys are checked at every hop against the known_hosts files. An unknown key is shown with its SHA256 fingerprint and accepted only by a person at a terminal, or by its fingerprint checked out of band ([[opsctl doctor --accept-host-key]]); otherwise it is refused. A changed host key is always refused.`,
  `A compromised bastion sees only encrypted SSH traffic to the service host: it cannot read or alter requests, and it cannot forge them, because it never holds the operator's signing key. It can drop or delay traffic. The internal port is bound to loopback, so it is reachable only through the service host's own sshd.`,
  `The server writes every request, denied ones included, to an append-only, hash-chained audit log (mode 0600) with the key, principal, role, endpoint, parameters with secrets redacted, outcome and the operator's [[--reason]]; [[opsctl audit verify]] detects an edited or deleted record.`,
];

export const EXAMPLES: Array<[string, string]> = [
  ['Save a target once, then use it without connection flags:', 'opsctl context add prod --bastion ops@bastion.example.com --host app1.internal --port 9900 --identity keychain:alice\nopsctl health'],
  ['Check every hop of the current context:', 'opsctl doctor'],
  ['Review, then apply pending migrations from a runbook (no prompt), recording why:', 'opsctl migrate plan\nopsctl migrate up --yes --reason "release 42"'],
  ['Turn on maintenance mode and read the result as JSON:', 'opsctl flags enable maintenance_mode -o json'],
  ['Run a task and follow its progress:', 'opsctl tasks run recompute-totals --follow'],
  ['One-off command with no config file (like ssh -J):', 'opsctl --bastion ops@bastion.example.com --host app1.internal --identity agent migrate status -o json'],
  ['Branch on the outcome in a script:', 'opsctl migrate up --yes -o json > result.json || echo "failed with exit status $?"'],
  ['Install completion for bash:', 'echo \'source <(opsctl completion bash)\' >> ~/.bashrc'],
];

export const SEE_ALSO = ['ssh(1)', 'ssh_config(5)', 'ssh-keygen(1)', 'ssh-agent(1)', 'sshd(8)'];
