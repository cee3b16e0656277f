/**
 * Typed flags end to end, as an operator first met them: through a real bastion
 * sshd and service-host sshd, the built CLI against the real demo service.
 * `flags set max_page_size 1.5` is refused by the service with a message
 * naming the type and bounds, and the public GET /orders keeps answering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from '../helpers/stack.js';

function getJson(host: string, port: number, path: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    }).on('error', reject);
  });
}

test('an integer flag through real sshd: 1.5 refused with the service\'s message, bounds shown, GET /orders never 500s', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    const cli = (...args: string[]) => stack.cli([...stack.connection, ...args]);
    const up = await cli('migrate', 'up', '--yes');
    assert.equal(up.code, 0, up.stderr);

    const get = await cli('flags', 'get', 'max_page_size');
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^type\s+integer$/m);
    assert.match(get.stdout, /^allowed\s+1\.\.500$/m);
    const list = await cli('flags', 'list');
    assert.match(list.stdout, /^max_page_size\tinteger\t50\t1\.\.500\t/m);
    assert.match(list.stdout, /^maintenance_mode\tboolean\tfalse\ttrue\|false\t/m);

    const half = await cli('flags', 'set', 'max_page_size', '1.5');
    assert.equal(half.code, 2, 'a value the service refuses is a usage error');
    assert.equal(half.stdout, '');
    assert.match(half.stderr, /flag "max_page_size" is an integer \(1\.\.500\): 1\.5 is not a whole number \(field: value\) \[request\.invalid, HTTP 400\]/);
    const high = await cli('flags', 'set', 'max_page_size', '501');
    assert.match(high.stderr, /must be at most 500 \(1\.\.500\), got 501/);

    const pub = stack.service.public;
    const orders = await getJson(pub.host, pub.port, '/orders');
    assert.equal(orders.status, 200, JSON.stringify(orders.json));
    assert.equal(orders.json.limit, 50, 'the refused values changed nothing');

    const ok = await cli('flags', 'set', 'max_page_size', '2');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'max_page_size: 50 → 2\n');
    assert.equal((await getJson(pub.host, pub.port, '/orders?limit=100')).json.limit, 2);
  } finally {
    await stack.stop();
  }
});
