/** The shells opsctl completes, and the line protocol between their scripts and `opsctl __complete`. */

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Last line of a `__complete` answer when the shell should also offer file names. */
export const FILES_DIRECTIVE = ':files';
