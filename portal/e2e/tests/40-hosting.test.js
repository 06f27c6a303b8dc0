// The portal as the stack hosts it: the copy in the stack's S3 bucket (infra/portal.py), served
// by LocalStack's website endpoint <bucket>.s3-website.localhost.localstack.cloud, which the
// browser is pointed at 127.0.0.1 for (the name need not resolve here).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { openBrowser, registerDevice, rendered, stack, text } from '../lib/harness.js';

const url = stack().portal_url;
/** Fails, not skips, without the bucket's copy: a portal the stack does not serve is a fault. */
function uploaded() {
  assert.ok(url, 'the stack has no portal_url: its portal was not uploaded to its bucket (infra/portal.py)');
}

/** GET through LocalStack with the website's Host header: {status, type, body}. */
function website(path) {
  const { host } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: new URL(url).port || 80, path, headers: { host } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

let browser;
before(async () => {
  if (url) browser = await openBrowser({ resolveLocalStack: true });
});
after(async () => { await browser?.close(); });

// card C5
test('the stack\'s bucket serves the portal, its wasm and a config.json for the stack', async () => {
  uploaded();
  const index = await website('/');
  assert.equal(index.status, 200);
  assert.match(index.type, /^text\/html/);
  assert.match(index.body.toString(), /trustreg_portal\.js/);
  const wasm = await website('/trustreg_portal_bg.wasm');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.type, 'application/wasm');
  const config = JSON.parse((await website('/config.json')).body.toString());
  assert.equal(config.api, stack().local_api_url);
  // A client-side route: the error document is index.html (S3 answers it with 404).
  assert.match((await website('/search')).body.toString(), /trustreg_portal\.js/);
});

// card C5
test('the app from the bucket checks a device across origins (the API answers CORS)', async () => {
  uploaded();
  const device = registerDevice();
  const { page, problems } = browser;
  await page.goto(url, { waitUntil: 'load' });
  await rendered(page, () => /trustreg/i.test(document.body.innerText));
  // The bucket's origin is not the API's: the lookup and the registry document only load if
  // the API allows it (Access-Control-Allow-Origin).
  await page.fill('#check-id', device.regdevid);
  await page.click('#check-go');
  const badge = page.locator('[data-testid=status-badge]');
  await badge.waitFor();
  assert.equal(await text(badge), 'trusted');
  await page.locator('[data-testid=statement-verified]').waitFor();
  assert.deepEqual(problems, []);
});
