/**
 * The internal port starts at most N requests per event-loop turn
 * (src/server/http/pace.ts): the rest wait for the next turn, in order, and
 * something else scheduled meanwhile (the service's own listener) runs
 * between them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pace } from '../../src/server/http/pace.js';

test('at most two starts per event-loop turn, in arrival order, with other work between turns', async () => {
  const paced = pace(2);
  const log: string[] = [];
  let turn = 0;
  // Another listener's work, scheduled on every turn while the burst drains.
  const other = () => { log.push(`other@${turn}`); turn++; if (turn < 20) setImmediate(other); };
  setImmediate(other);
  const started: number[] = [];
  const turns: number[] = [];
  let all: () => void = () => undefined;
  const done = new Promise<void>((r) => { all = r; });
  for (let i = 0; i < 10; i++) paced(() => { started.push(i); turns.push(turn); if (started.length === 10) all(); });
  await done;
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every request starts, in order');
  const perTurn = new Map<number, number>();
  for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  assert.ok([...perTurn.values()].every((n) => n <= 2), `starts per turn: ${JSON.stringify([...perTurn])}`);
  assert.ok(perTurn.size >= 5, 'the burst is spread over turns, with the other listener between them');
  // A turn later, idle again: a new request starts at once.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  let now = false;
  paced(() => { now = true; });
  assert.equal(now, true);
});
