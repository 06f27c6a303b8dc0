// (b) An enquirer signs up in the browser (key pair made with WebCrypto, kept in IndexedDB), an
// administrator approves with the CLI, the enquirer logs in and opens a device page with its
// history; search finds the device and links to its page; the dashboard shows the counts. All
// of it without a page reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  decideEnquirer, markDocument, navigate, openBrowser, registerDevice, screenshot, setField,
  stillSameDocument, text, visit,
} from '../lib/harness.js';

let browser;
let device;
before(async () => {
  device = registerDevice({ model: 'Pump-7', report: true });
  browser = await openBrowser();
});
after(async () => { await browser?.close(); });

// card C5
test('sign up, approval, log in', async () => {
  const { page, problems } = browser;
  await visit(page, '/account');
  await setField(page, '#signup-name', 'Ada Lovelace');
  await setField(page, '#signup-organisation', 'Example Health');
  await setField(page, '#signup-contact', 'ada@example.org');
  await page.click('#signup-go');
  const idEl = page.locator('[data-testid=enquirer-id]');
  await idEl.waitFor();
  const id = await text(idEl);
  assert.match(id, /\S{6,}/);
  assert.match(await text(page.locator('[data-testid=enquirer-state]')), /pending/i);
  await screenshot(page, 'account-signed-up');

  assert.equal(decideEnquirer(id, 'approve').state, 'approved');
  // A reload: the key pair survives in IndexedDB, and logs in.
  await visit(page, '/account');
  assert.equal(await text(page.locator('[data-testid=enquirer-id]')), id);
  await page.click('#login-go');
  await page.locator('[data-testid=signed-in]').waitFor();
  assert.deepEqual(problems, []);
  await screenshot(page, 'account');
});

// card C5
test('the device page shows details, the history timeline and vulnerabilities', async () => {
  const { page } = browser;
  await markDocument(page);
  // Client-side navigation throughout: the nav link, the search result's link.
  await navigate(page, '/search');
  assert.ok(await stillSameDocument(page), 'the nav link changes page without a reload');

  await setField(page, '#search-make', device.make);
  await page.click('#search-go');
  const rows = page.locator('[data-testid=search-result]');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  const link = rows.first().locator('a[href^="/devices/"]');
  const href = decodeURIComponent(await link.getAttribute('href'));
  assert.equal(href, `/devices/${device.regdevid}`);
  await screenshot(page, 'search');

  await link.click();
  await page.waitForURL((url) => decodeURIComponent(url.pathname) === `/devices/${device.regdevid}`);
  assert.ok(await stillSameDocument(page), 'the result link opens the device without a reload');
  const details = page.locator('[data-testid=device-details]');
  await details.waitFor();
  const detailText = await text(details);
  assert.ok(detailText.includes(device.make), detailText);
  assert.ok(detailText.includes(device.model), detailText);
  const history = page.locator('[data-testid=history] li');
  await history.first().waitFor();
  // The registration's status transition(s) and the report.
  assert.ok(await history.count() >= 2, `history entries: ${await history.count()}`);
  await page.locator('[data-testid=vulnerabilities]').waitFor();
  await screenshot(page, 'device');
});

// card C5
test('a search with no match shows no rows', async () => {
  const { page } = browser;
  await navigate(page, '/search');
  await setField(page, '#search-make', device.make);
  await setField(page, '#search-status', 'unreliable');
  // No rows to wait for: the search's answer, then the page's own word that it showed an
  // empty answer, and only then that no row is there.
  const answered = page.waitForResponse((r) => /\/v1\/devices\?/.test(r.url()));
  await page.click('#search-go');
  assert.equal((await answered).status(), 200);
  await page.locator('[data-testid=search-empty]').waitFor();
  assert.equal(await page.locator('[data-testid=search-result]').count(), 0);
  assert.equal(await page.locator('[data-testid=error]').count(), 0);
});

// card C5
test('the dashboard shows the status chart and recent transitions', async () => {
  const { page } = browser;
  await navigate(page, '/dashboard');
  await page.locator('[data-testid=chart-status]').waitFor();
  await page.locator('[data-testid=recent-transitions]').waitFor();
  // One series per status the statistics count, deregistered devices (6.3 e) included.
  assert.deepEqual(
    await page.locator('[data-testid=chart-status] .legend text').allTextContents(),
    ['trusted', 'unverified', 'unreliable', 'deregistered'],
  );
  assert.ok(await stillSameDocument(page), 'signed in throughout, without a reload');
  await screenshot(page, 'dashboard');
});
