// The harness itself: the server, the built files, the app starting in headless Chromium.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { env, openBrowser, rendered, screenshot, visit } from '../lib/harness.js';

let browser;
before(async () => { browser = await openBrowser(); });
after(async () => { await browser?.close(); });

// card C5
test('the server serves the build, config.json and client-side routes', async () => {
  const wasm = await fetch(`${env.portal}/trustreg_portal_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const config = await (await fetch(`${env.portal}/config.json`)).json();
  assert.match(config.api, /^https?:\/\//, 'config.json names the API');
  assert.doesNotMatch(config.api, /\/v1\/?$/, 'without /v1');
  for (const route of ['/devices/IN1.HLT.P07:imei:356938035643809', '/search', '/account']) {
    const resp = await fetch(env.portal + route);
    assert.equal(resp.status, 200, route);
    assert.match(resp.headers.get('content-type'), /^text\/html/, route);
    assert.match(await resp.text(), /trustreg_portal\.js/, route);
  }
  assert.equal((await fetch(`${env.portal}/missing.js`)).status, 404);
  // The API through config.json: the published registry document.
  const registry = await fetch(`${config.api}/v1/registry`);
  assert.equal(registry.status, 200);
  assert.match((await registry.json()).path, /^([A-Z0-9]{3}|[A-Z]{2})(\.[A-Z0-9]{3})*$/);
});

// card C5
test('the app starts in the browser, also on a deep link', async () => {
  const { page, problems } = browser;
  for (const route of ['/', '/devices/IN1.HLT.P07:imei:356938035643809']) {
    await visit(page, route);
    await rendered(page, () => /trustreg/i.test(document.body.innerText));
    assert.deepEqual(problems, [], `no errors on ${route}`);
  }
  await visit(page, '/');
  await screenshot(page, 'smoke');
});
