import { ProblemError } from '../../protocol/index.js';
import { scalarText } from './template.js';

/** The longest value a template takes (an argv element, a path segment, a command token, a variable). */
export const MAX_TEMPLATE_VALUE = 8192;

export function refuse(field: string, why: string): ProblemError {
  return new ProblemError('request.invalid', `param "${field}" ${why}; nothing was sent upstream`, { field });
}

/**
 * A param value as the text a template puts in: NUL (which no argv, path or
 * variable can carry) and values over MAX_TEMPLATE_VALUE characters are
 * refused whatever the schema says.
 */
export function templateText(value: unknown, name: string): string {
  if (value !== null && typeof value === 'object') throw refuse(name, 'is not a single value (objects and arrays cannot go into a template)');
  const text = scalarText(value);
  if (text.includes('\0')) throw refuse(name, 'contains a NUL character');
  if (text.length > MAX_TEMPLATE_VALUE) throw refuse(name, `is longer than ${MAX_TEMPLATE_VALUE} characters`);
  return text;
}
