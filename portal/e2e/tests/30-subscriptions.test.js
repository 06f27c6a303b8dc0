// (c) A signed-in enquirer subscribes an SQS queue to a trust domain's notifications with a
// filter, sees it listed, and deletes it; the SNS topic gains and loses the subscription.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  deleteQueue, navigate, openBrowser, queueFor, screenshot, setField, signUpAndLogIn, stack,
  topicSubscriptions,
} from '../lib/harness.js';

let browser;
let queue;
let topic;
before(async () => {
  topic = stack().topics.health;
  queue = queueFor(topic);
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  if (queue) deleteQueue(queue.url);
});

const subscribed = () => topicSubscriptions(topic).filter((s) => s.Endpoint === queue.arn);

// card C5
test('create a subscription, then delete it', async () => {
  const { page, problems } = browser;
  await signUpAndLogIn(page, { name: 'Sub Scriber', contact: 'subs@example.org' });
  await navigate(page, '/subscriptions');
  const rows = page.locator('[data-testid=subscription]');
  await page.locator('#sub-create').waitFor();
  const before = await rows.count();

  await setField(page, '#sub-domain', 'health');
  await setField(page, '#sub-protocol', 'sqs');
  await setField(page, '#sub-endpoint', queue.arn);
  await setField(page, '#sub-filter-status', 'unreliable');
  await page.click('#sub-create');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=subscription]').length > n, before);
  assert.equal(await rows.count(), before + 1);
  assert.equal(await page.locator('[data-testid=error]').count(), 0);
  const subs = subscribed();
  assert.equal(subs.length, 1, JSON.stringify(subs));
  await screenshot(page, 'subscriptions');

  const row = rows.filter({ hasText: queue.arn }).first();
  const target = (await row.count()) ? row : rows.last();
  await target.locator('[data-testid=subscription-delete]').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=subscription]').length === n, before);
  assert.equal(subscribed().length, 0, 'the SNS subscription is gone');
  assert.deepEqual(problems, []);
});
