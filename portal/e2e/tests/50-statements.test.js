// A client of another language verifies the registry's statements with a general-purpose JOSE
// library (npm `jose`), following only docs/API.md "Registry statements: how to verify one":
// the page's test vector, then a real lookup of the stack under test against the key its
// GET /v1/registry publishes. No browser: this is what any relying party's code would do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  base64url, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, exportJWK,
  generateKeyPair, importJWK,
} from 'jose';
import { REPO, registerDevice, stack } from '../lib/harness.js';

const SKEW_S = 60;
const json = (bytes) => JSON.parse(new TextDecoder().decode(bytes));

/**
 * API.md's five steps with `registryJwk` (a published `public_key`) at `nowS`; returns the
 * statement's payload {iss, iat, answer}. Throws at the first step that fails.
 */
async function verifyStatement(statement, registryJwk, nowS = Date.now() / 1000) {
  // 1. The statement's protected header names its type and carries the delegation.
  const header = decodeProtectedHeader(statement);
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'trustreg-statement+jwt');
  assert.equal(typeof header.dlg, 'string', 'dlg');
  // 2. The delegation verifies with the registry's key.
  const registryKey = await importJWK(registryJwk, 'ES256');
  const delegation = await compactVerify(header.dlg, registryKey, { algorithms: ['ES256'] });
  assert.equal(delegation.protectedHeader.typ, 'trustreg-delegation+jwt');
  assert.equal(delegation.protectedHeader.kid, registryJwk.kid);
  const delegated = json(delegation.payload);
  // 3. The statement's kid is the RFC 7638 thumbprint of the key the delegation certifies.
  assert.equal(header.kid, await calculateJwkThumbprint(delegated.jwk, 'sha256'));
  // 4. The statement verifies with that key.
  const sessionKey = await importJWK({ ...delegated.jwk, alg: 'ES256' }, 'ES256');
  const said = json((await compactVerify(statement, sessionKey, { algorithms: ['ES256'] })).payload);
  // 5. Said by the same registry, within the delegation, not in the future.
  assert.equal(said.iss, delegated.iss);
  assert.ok(delegated.iat <= said.iat && said.iat <= delegated.exp,
    `iat ${said.iat} outside [${delegated.iat}, ${delegated.exp}]`);
  assert.ok(said.iat <= nowS + SKEW_S, `iat ${said.iat} is in the future`);
  return said;
}

/** The code block after `<!-- test vector: NAME -->` in docs/API.md. */
function vector(name) {
  const text = readFileSync(join(REPO, 'docs/API.md'), 'utf8');
  const marker = `<!-- test vector: ${name} -->`;
  const at = text.indexOf(marker);
  assert.ok(at >= 0, marker);
  const block = text.slice(at + marker.length).split('```')[1];
  return block.slice(block.indexOf('\n') + 1).trim();
}

// card C5
test("API.md's statement test vector verifies with its registry key, and says its answer", async () => {
  const key = JSON.parse(vector('registry key'));
  const answer = JSON.parse(vector('answer'));
  const said = await verifyStatement(vector('statement'), key, 1_795_000_000);
  assert.deepEqual(said.answer, answer);
  assert.equal(said.iss, 'IN1.HLT.P07');
  assert.equal(said.iat, 1_795_000_000);
});

// card C5
test('a statement whose answer was changed, or checked with another key, does not verify', async () => {
  const key = JSON.parse(vector('registry key'));
  const statement = vector('statement');
  const [h, p, s] = statement.split('.');
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
  payload.answer.status = 'unreliable';
  const tampered = [h, base64url.encode(JSON.stringify(payload)), s].join('.');
  await assert.rejects(verifyStatement(tampered, key, 1_795_000_000));
  const { publicKey } = await generateKeyPair('ES256');
  const other = { ...(await exportJWK(publicKey)), kid: key.kid };
  await assert.rejects(verifyStatement(statement, other, 1_795_000_000), /signature verification failed/);
});

// card C5
test("a real lookup's statement verifies with the key GET /v1/registry publishes", async () => {
  const device = registerDevice();
  const api = stack().local_api_url.replace(/\/$/, '');
  const registry = await (await fetch(`${api}/v1/registry`)).json();
  const answer = await fetch(`${api}/v1/devices/${encodeURIComponent(device.regdevid)}`);
  assert.equal(answer.status, 200);
  const { statement, ...body } = await answer.json();
  const said = await verifyStatement(statement, registry.public_key);
  assert.deepEqual(said.answer, body);
  assert.equal(said.iss, registry.path);
  assert.equal(said.answer.id, device.regdevid);
});
