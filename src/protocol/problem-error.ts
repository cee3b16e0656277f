import { PROBLEMS, problemType, type ProblemCode, type ProblemDetails } from './problems.js';

/**
 * An error that carries a stable problem code. The server turns it into a
 * problem+json response; the CLI raises it when the server answered with one.
 */
export class ProblemError extends Error {
  readonly code: ProblemCode | string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;

  constructor(code: ProblemCode | string, detail?: string, extensions: Record<string, unknown> = {}, status?: number) {
    const known = (PROBLEMS as Record<string, { status: number; title: string }>)[code];
    super(detail ?? known?.title ?? code);
    this.name = 'ProblemError';
    this.code = code;
    this.status = status ?? known?.status ?? 500;
    this.detail = detail;
    this.extensions = extensions;
  }

  toJSON(): ProblemDetails {
    const known = (PROBLEMS as Record<string, { status: number; title: string }>)[this.code];
    return {
      type: problemType(this.code),
      title: known?.title ?? this.code,
      status: this.status,
      code: this.code,
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      ...this.extensions,
    };
  }

  static fromDetails(body: Partial<ProblemDetails>, status: number): ProblemError {
    const { type: _t, title, status: _s, code, detail, ...ext } = body;
    return new ProblemError(String(code ?? 'internal'), detail ?? title, ext, status);
  }
}
