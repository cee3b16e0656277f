/**
 * The internal port answered more than the CLI accepts (`--max-response-size`,
 * 16 MiB by default): the response is cut off and dropped, so a broken or
 * hostile service cannot fill the operator's memory. Exit 1, a bad response.
 */
export class ResponseTooLargeError extends Error {
  /** The limit that was exceeded, in bytes. */
  readonly limit: number;

  constructor(message: string, limit: number) {
    super(message);
    this.name = 'ResponseTooLargeError';
    this.limit = limit;
  }
}
