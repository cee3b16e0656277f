/**
 * Weakness: numbers in the query and the path were read leniently. ajv's
 * coercion is `Number(text)`, so `?limit=0x10` was 16, `? 5` was 5, `1e3`
 * was 1000, `+5`, `05` and `Infinity`-like texts slipped through: a
 * filter, a log parser or a policy in front of the port and the port itself
 * read different numbers from the same request.
 *
 * Attack: walk the WHOLE published catalog of a port that serves the
 * standard endpoints and its own (with integer and number query params and
 * integer path params on GET, POST and DELETE), and send every integer and
 * number query or path parameter malformed numbers.
 *
 * Expected: each is 400 `request.invalid` naming that parameter, before
 * anything runs; a well-formed value of the same parameter is never refused
 * for it (the control).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointDescriptor, JsonSchema } from '../../src/protocol/index.js';
import type { CustomEndpoint } from '../../src/server/options.js';
import { startHarness } from '../server/fixtures/harness.js';

const ran: string[] = [];
const thing = (id: string, method: CustomEndpoint['method'], path: string, properties: Record<string, JsonSchema>, required: string[] = []): CustomEndpoint => ({
  id, method, path, summary: id, role: 'operator', destructive: false,
  params: { type: 'object', properties, required, additionalProperties: false },
  handler: async () => { ran.push(id); return { ok: true }; },
});

const CUSTOM: CustomEndpoint[] = [
  thing('things.get', 'GET', '/v1/things/{n}', {
    n: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    ratio: { type: 'number' },
    label: { type: 'string' },
    offset: { type: ['integer', 'null'] },
  }, ['n']),
  thing('things.poke', 'POST', '/v1/things/{n}/poke', { n: { type: 'integer' }, note: { type: 'string' } }, ['n']),
  thing('things.drop', 'DELETE', '/v1/things/{n}', { n: { type: 'integer' }, force: { type: 'boolean' } }, ['n']),
];

const BAD_INTEGERS = ['0x10', ' 5', '5 ', '+5', '1e3', '05', '5.0', '5.5', '-0', '0b1', '0o7', 'Infinity', 'NaN', '1_000', '\uff15', '5\n', '9007199254740993', '', '--5', '5-'];
const BAD_NUMBERS = ['0x10', ' 1.5', '1.5 ', '+1.5', '1e3', '.5', '5.', '01.5', 'Infinity', '-Infinity', 'NaN', '1,5', '-0', '', '1..5', '\u0661'];

const typesOf = (s: JsonSchema | undefined) => (Array.isArray(s?.type) ? s!.type : s?.type ? [s.type] : []);
const numericKind = (s: JsonSchema | undefined): 'integer' | 'number' | undefined => {
  const t = typesOf(s);
  return t.includes('number') ? 'number' : t.includes('integer') ? 'integer' : undefined;
};

/** A value the schema takes, for the params that are not under attack. */
function goodValue(s: JsonSchema | undefined): string {
  const kind = numericKind(s);
  if (kind) return String(s?.minimum ?? 1);
  if (s?.enum?.length) return String(s.enum[0]);
  if (typesOf(s).includes('boolean')) return 'true';
  return 'x';
}

test('every integer and number query or path parameter in the catalog refuses malformed numbers with 400 request.invalid naming it', async () => {
  const h = await startHarness({ endpoints: CUSTOM, flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'b' }] } });
  try {
    const cat = await h.admin.call('catalog');
    assert.equal(cat.status, 200, cat.text);
    const endpoints = cat.json.endpoints as EndpointDescriptor[];
    const targets: Array<{ ep: EndpointDescriptor; name: string; kind: 'integer' | 'number'; where: 'path' | 'query' }> = [];
    for (const ep of endpoints) {
      const pathNames = [...ep.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      for (const [name, schema] of Object.entries(ep.params.properties ?? {})) {
        const kind = numericKind(schema);
        if (!kind) continue;
        const where = pathNames.includes(name) ? 'path' : ep.method === 'GET' || ep.method === 'DELETE' ? 'query' : undefined;
        if (where) targets.push({ ep, name, kind, where });
      }
    }
    const names = targets.map((t) => `${t.ep.id}.${t.name}`).sort();
    for (const known of ['audit.tail.limit', 'audit.proof.seq', 'audit.proof.size', 'audit.consistency.from', 'audit.consistency.to', 'things.get.n', 'things.get.limit', 'things.get.ratio', 'things.get.offset', 'things.poke.n', 'things.drop.n']) {
      assert.ok(names.includes(known), `the walk covers ${known}: ${names.join(', ')}`);
    }
    let sent = 0;
    const send = async (t: (typeof targets)[number], value: string) => {
      const pathValues: Record<string, string> = {};
      let path = t.ep.path;
      for (const m of t.ep.path.matchAll(/\{([^}]+)\}/g)) {
        const v = m[1] === t.name ? value : goodValue(t.ep.params.properties?.[m[1]!]);
        pathValues[m[1]!] = v;
        path = path.replace(m[0], encodeURIComponent(v));
      }
      const query = t.where === 'query' ? new URLSearchParams({ [t.name]: value }).toString() : '';
      sent++;
      return h.admin.send(t.ep.method, path, { query, ...(t.ep.method === 'GET' || t.ep.method === 'DELETE' ? {} : { body: {} }) });
    };
    for (const t of targets) {
      const bad = t.kind === 'integer' ? BAD_INTEGERS : BAD_NUMBERS;
      for (const value of bad) {
        if (t.where === 'path' && value === '') continue; // an empty segment is another path (404), not a number
        const r = await send(t, value);
        const what = `${t.ep.method} ${t.ep.id} ${t.where} ${t.name}=${JSON.stringify(value)}`;
        assert.equal(r.status, 400, `${what}: ${r.text}`);
        assert.equal(r.json.code, 'request.invalid', `${what}: ${r.text}`);
        assert.equal(r.json.field, t.name, `${what}: ${r.text}`);
      }
      // The control: a well-formed number is never refused for this parameter.
      const good = await send(t, t.kind === 'integer' ? '1' : '2.5');
      assert.ok(!(good.status === 400 && good.json?.field === t.name), `${t.ep.id} ${t.name}: a good value is taken: ${good.text}`);
    }
    assert.ok(sent > 150, `${sent} requests`);
    // Nothing ran for a malformed number: the handlers ran for the controls only.
    assert.deepEqual(ran.sort(), ['things.drop', 'things.get', 'things.get', 'things.get', 'things.get', 'things.poke']);
  } finally {
    await h.close();
  }
});
