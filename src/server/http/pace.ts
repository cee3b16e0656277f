/**
 * The service first: at most `perTurn` internal-port requests START per
 * event-loop turn; the rest wait for the next turn (setImmediate), so the
 * service's own listeners, which share the event loop, are served between
 * them instead of behind a whole burst (16 connections' worth of requests
 * arriving in one poll). Only the start is paced: a started request's later
 * stages run as their I/O completes. Requests start in arrival order; at most
 * one per connection waits (HTTP/1.1: the next one is read after the
 * answer), so the queue is bounded by the connection cap.
 * src/server/README.md, "Performance of the internal port".
 */
export function pace(perTurn: number): (start: () => void) => void {
  const queue: Array<() => void> = [];
  let started = 0;
  let turnPending = false;
  const nextTurn = () => {
    turnPending = false;
    started = 0;
    while (queue.length > 0 && started < perTurn) {
      started++;
      queue.shift()!();
    }
    if (queue.length > 0 || started > 0) {
      turnPending = true;
      setImmediate(nextTurn);
    }
  };
  return (start) => {
    if (started < perTurn && queue.length === 0) {
      started++;
      if (!turnPending) {
        turnPending = true;
        setImmediate(nextTurn);
      }
      start();
    } else {
      queue.push(start);
    }
  };
}
