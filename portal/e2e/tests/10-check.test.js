// (a) Anyone checks a device: the trust status as a badge, the registry that answered, the
// age of the information and the signed statement verified in the browser; a malformed id
// gives a readable error. The registry page shows the published registry document.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  openBrowser, randomImei, registerDevice, screenshot, stack, text, visit,
} from '../lib/harness.js';

let browser;
let device;
before(async () => {
  device = registerDevice();
  browser = await openBrowser();
});
after(async () => { await browser?.close(); });

// card C5
test('checking a registered device shows its status, the registry and a verified statement', async () => {
  const { page, problems } = browser;
  await visit(page, '/');
  await page.fill('#check-id', device.regdevid);
  await page.click('#check-go');
  const badge = page.locator('[data-testid=status-badge]');
  await badge.waitFor();
  assert.equal(await text(badge), 'trusted');
  assert.match(await badge.getAttribute('class'), /\bbadge\b.*\bbadge-trusted\b|\bbadge-trusted\b.*\bbadge\b/);
  const answeredBy = await text(page.locator('[data-testid=answered-by]'));
  assert.ok(answeredBy.includes(stack().RegId), `answered by ${answeredBy}`);
  assert.notEqual(await text(page.locator('[data-testid=age]')), '');
  // Verified in the browser against the registry's published key: present only when it verified.
  await page.locator('[data-testid=statement-verified]').waitFor();
  assert.equal(await page.locator('[data-testid=error]').count(), 0);
  assert.deepEqual(problems, []);
  await screenshot(page, 'check');
});

// card C5
test('a slow answer shows the loading state, then the result', async () => {
  const { page } = browser;
  await visit(page, '/');
  // Hold the lookup back for a moment (playwright's routing), so the loading state shows.
  const lookup = (url) => url.pathname.includes('/v1/devices/');
  await page.route(lookup, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  try {
    await page.fill('#check-id', device.regdevid);
    await page.click('#check-go');
    await page.locator('[data-testid=loading]').waitFor();
    await page.locator('[data-testid=status-badge]').waitFor();
    assert.equal(await page.locator('[data-testid=loading]').count(), 0);
  } finally {
    await page.unroute(lookup);
  }
});

// card C5
test('a malformed id gives a readable error and no badge', async () => {
  const { page } = browser;
  await visit(page, '/');
  await page.fill('#check-id', 'not a device id!');
  await page.click('#check-go');
  const error = page.locator('[data-testid=error]');
  await error.waitFor();
  const message = await text(error);
  assert.ok(message.length > 5, `error message: ${message}`);
  assert.doesNotMatch(message, /undefined|\[object|^\s*\{|JsValue|panicked/, `readable: ${message}`);
  assert.equal(await page.locator('[data-testid=status-badge]').count(), 0);
  assert.equal(await page.locator('[data-testid=statement-verified]').count(), 0);
  await screenshot(page, 'check-error');
});

// card C5
test('an unknown device gives a readable error from the API', async () => {
  const { page } = browser;
  await visit(page, '/');
  await page.fill('#check-id', `${stack().RegistryPath}:imei:${randomImei()}`);
  await page.click('#check-go');
  const error = page.locator('[data-testid=error]');
  await error.waitFor();
  const message = await text(error);
  assert.doesNotMatch(message, /undefined|\[object|^\s*\{|JsValue|panicked/, `readable: ${message}`);
  assert.equal(await page.locator('[data-testid=status-badge]').count(), 0);
});

// card C5
test('the registry page shows the RegID, type and practice statement', async () => {
  const { page } = browser;
  const s = stack();
  await visit(page, '/registry');
  await page.locator('[data-testid=practice-statement]').waitFor();
  assert.ok((await text(page.locator('[data-testid=regid]'))).includes(s.RegId));
  assert.equal(await text(page.locator('[data-testid=registry-type]')), s.RegistryType);
  assert.ok((await text(page.locator('[data-testid=practice-statement]'))).length > 20);
  await screenshot(page, 'registry', { fullPage: false }); // the statement is long
});
