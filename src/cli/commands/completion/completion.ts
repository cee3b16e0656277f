import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { completeWith } from '../../completion/hints.js';
import { completionScript } from '../../completion/scripts.js';
import { COMPLETION_SHELLS, type CompletionShell } from '../../completion/shells.js';

export interface CompletionOptions {
  shell: CompletionShell;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('completion')
    .description('Print the shell completion script (bash, zsh or fish)')
    .addArgument(completeWith(new Argument('<shell>', 'bash, zsh or fish').choices(COMPLETION_SHELLS), 'shells'))
    .addHelpText(
      'after',
      `
Install:
  bash  echo 'source <(opsctl completion bash)' >> ~/.bashrc
  zsh   opsctl completion zsh > "\${fpath[1]}/_opsctl"
  fish  opsctl completion fish > ~/.config/fish/completions/opsctl.fish

Completion reads only local files: commands and options from this binary,
context names from the config file, and flag, task, migration, job and
endpoint names from a per-context cache that every successful command
refreshes. Pressing TAB never connects anywhere and never prompts.`,
    )
    .action(async (shell: CompletionShell) => run(f, { shell }));
}

export async function run(f: Factory, opts: CompletionOptions): Promise<void> {
  f.io.stdout.write(completionScript(opts.shell));
}
