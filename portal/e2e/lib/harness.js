// Shared by the portal's browser tests: the environment scripts/test-portal sets, headless
// Debian Chromium through playwright-core, screenshots, and the CLI/AWS helpers the tests use to
// make what they look at (devices, approvals, queues).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through scripts/test-portal`);
  return v;
}

/** What scripts/test-portal hands over. */
export const env = {
  get portal() { return need('PORTAL_URL').replace(/\/$/, ''); },
  get outputs() { return need('TRUSTREG_STACK_OUTPUTS'); },
  get cli() { return need('TRUSTREG_CLI'); },
  get adminDir() { return process.env.TRUSTREG_ADMIN_DIR || join(REPO, '.trustreg/test-admin'); },
  get python() { return need('TRUSTREG_LS_PYTHON'); },
  get screenshots() { return process.env.TRUSTREG_SCREENSHOTS || join(REPO, 'target/screenshots'); },
};

/** The deployed stack's outputs (infra/deploy.py --out). */
export function stack() {
  return JSON.parse(readFileSync(env.outputs, 'utf8'));
}

const PROBLEMS = new WeakMap(); // page -> what it reported (openBrowser)
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A fresh browser (its own user-data-dir, so IndexedDB starts empty) and one page on it that
 * records the page's uncaught errors and failed requests. close() ends both and removes the dir.
 * resolveLocalStack: LocalStack's *.localhost.localstack.cloud names go to 127.0.0.1.
 */
export async function openBrowser({ resolveLocalStack = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'trustreg-portal-chromium-'));
  const args = resolveLocalStack
    ? [...ARGS, '--host-resolver-rules=MAP *.localhost.localstack.cloud 127.0.0.1']
    : ARGS;
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1280, height: 860 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  PROBLEMS.set(page, problems);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Uncaught errors and panics (console_error_panic_hook logs them as console errors); the
  // browser's own "Failed to load resource" lines are answers the app handles (401, 404 ...).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  return {
    context,
    page,
    problems,
    async close() {
      if (problems.length) console.error(`the browser reported:\n  ${problems.join('\n  ')}`);
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Goes to a path of the portal and waits for the app to have rendered something; a page that
 * stays empty fails with what the page reported (a panic shows as "page error: unreachable").
 */
export async function visit(page, path = '/') {
  const since = (PROBLEMS.get(page) ?? []).length;
  const resp = await page.goto(env.portal + path, { waitUntil: 'load' });
  await rendered(page, () => document.body && document.body.innerText.trim().length > 0, undefined, since);
  return resp;
}

/** waitForFunction that, on a timeout, says what the page logged and showed. */
export async function rendered(page, predicate, arg, since = (PROBLEMS.get(page) ?? []).length) {
  // A panic (an uncaught page error) ends the wait at once instead of at the timeout.
  let poll;
  const crashed = new Promise((_, reject) => {
    poll = setInterval(() => {
      const error = (PROBLEMS.get(page) ?? []).slice(since).find((p) => p.startsWith('page error'));
      if (error) reject(new Error(error));
    }, 200);
  });
  try {
    await Promise.race([page.waitForFunction(predicate, arg), crashed]);
  } catch (e) {
    const body = await page.evaluate(() => document.body?.innerHTML ?? '').catch(() => '?');
    throw new Error(`${e.message}\n  page ${page.url()} reported: ${JSON.stringify(PROBLEMS.get(page) ?? [])}` +
      `\n  body: ${body.replace(/\s+/g, ' ').slice(0, 600)}`, { cause: e });
  } finally {
    clearInterval(poll);
  }
}

/** target/screenshots/<name>.png (scripts/screenshots copies them into docs/screenshots/). */
export async function screenshot(page, name, { fullPage = true } = {}) {
  mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: join(env.screenshots, `${name}.png`), fullPage });
}

/**
 * Goes to a page through the navigation bar, without a reload (a reload ends the session: the
 * key stays in IndexedDB, the access token does not).
 */
export async function navigate(page, href) {
  await page.click(`nav a[href="${href}"]`);
  await page.waitForURL((url) => url.pathname === href);
}

/** Sets a form field to `value`, whether the page made it an <input> or a <select>. */
export async function setField(page, selector, value) {
  const field = page.locator(selector);
  if (await field.evaluate((el) => el.tagName === 'SELECT')) {
    await field.selectOption(value);
  } else {
    await field.fill(value);
  }
}

/** Marks the current document: stillSameDocument() is true while no reload happened. */
export async function markDocument(page) {
  await page.evaluate(() => { window.__trustregMark = true; });
}
export async function stillSameDocument(page) {
  return page.evaluate(() => window.__trustregMark === true);
}

/** Text of a locator with collapsed whitespace. */
export async function text(locator) {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

// ------------------------------------------------------------------------ the CLI
/** Runs `trustreg --json ARGS`; returns its JSON answer (throws with stderr on failure). */
export function trustreg(args, { json = true } = {}) {
  const out = execFileSync(env.cli, json ? ['--json', ...args] : args, {
    env: { ...process.env, TRUSTREG_API: '' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return json && out.trim() ? JSON.parse(out) : out;
}

export function scratch(name) {
  return mkdtempSync(join(tmpdir(), `trustreg-portal-${name}-`));
}

export function randomImei() {
  // 14 random digits and the Luhn check digit.
  const d = Array.from({ length: 14 }, () => Math.floor(Math.random() * 10));
  d[0] = d[0] || 3;
  let sum = 0;
  for (let i = 0; i < 14; i++) {
    let v = d[13 - i];
    if (i % 2 === 0) { v *= 2; if (v > 9) v -= 9; }
    sum += v;
  }
  return d.join('') + String((10 - (sum % 10)) % 10);
}

/**
 * A device registered at the stack under test, with a demo manufacturer CA of its own that the
 * stack accepts (as cli/tests/e2e_enquirer.rs does). Returns {regdevid, make, model, dir}.
 */
export function registerDevice({ model = 'Meter-9', report = false } = {}) {
  const dir = scratch('device');
  const make = `Portal${randomImei().slice(0, 8)}`;
  const api = stack().local_api_url;
  trustreg(['demo', 'ca', '--dir', join(dir, 'ca'), '--name', make]);
  const imei = randomImei();
  // The CA may certify this device's TAC (its first 8 digits) only: an identifier scope.
  trustreg(['admin', 'accept-root', '--stack', env.outputs,
    '--cert', join(dir, 'ca', 'ca-cert.pem'), '--name', make, '--scope', `imei:${imei.slice(0, 8)}`]);
  trustreg(['device', 'init', '--dir', join(dir, 'device'), '--ca', join(dir, 'ca'),
    '--scheme', 'imei', '--id', imei]);
  const registered = trustreg(['device', 'register', '--dir', join(dir, 'device'), '--api', api,
    '--make', make, '--model', model]);
  if (report) {
    trustreg(['device', 'report', '--dir', join(dir, 'device'), '--api', api,
      '--firmware', '1.2.0', '--software', '4.1.0']);
  }
  return { regdevid: registered.regdevid, make, model, dir };
}

/** An administrator's decision on an enquirer (`trustreg admin decide-enquirer`). */
export function decideEnquirer(id, decision = 'approve') {
  // --id=: an id may start with '-' (base64url).
  return trustreg(['admin', 'decide-enquirer', '--api', stack().local_api_url,
    '--key-dir', env.adminDir, `--id=${id}`, '--decision', decision]);
}

/** Runs Python (LocalStack's venv, with boto3) and returns its stdout parsed as JSON. */
export function python(code, args = []) {
  const out = execFileSync(env.python, ['-c', code, ...args], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out);
}

/** An SQS queue on LocalStack whose policy lets `topicArn` send to it: {url, arn}. */
export function queueFor(topicArn) {
  return python(`
import json, sys, uuid, boto3
topic = sys.argv[1]
sqs = boto3.client("sqs")
url = sqs.create_queue(QueueName="portal-e2e-" + uuid.uuid4().hex[:12])["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": arn,
    "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
print(json.dumps({"url": url, "arn": arn}))
`, [topicArn]);
}

export function deleteQueue(url) {
  python(`
import json, sys, boto3
boto3.client("sqs").delete_queue(QueueUrl=sys.argv[1])
print("{}")
`, [url]);
}

/** The SNS subscriptions of a topic: [{SubscriptionArn, Protocol, Endpoint}]. */
export function topicSubscriptions(topicArn) {
  return python(`
import json, sys, boto3
sns = boto3.client("sns")
subs = sns.list_subscriptions_by_topic(TopicArn=sys.argv[1])["Subscriptions"]
print(json.dumps(subs))
`, [topicArn]);
}

// ------------------------------------------------------------------------ the portal
/**
 * Signs up in the browser (#signup-*), has the administrator approve the enquirer with the CLI,
 * logs in (#login-go, the key kept in IndexedDB). Returns the enquirer id.
 */
export async function signUpAndLogIn(page, { name = 'Ada Lovelace', organisation = 'Example Health',
  contact = 'ada@example.org', shots = false } = {}) {
  await visit(page, '/account');
  await page.fill('#signup-name', name);
  await page.fill('#signup-organisation', organisation);
  await page.fill('#signup-contact', contact);
  await page.click('#signup-go');
  const idEl = page.locator('[data-testid=enquirer-id]');
  await idEl.waitFor();
  const id = (await idEl.innerText()).trim();
  if (shots) await screenshot(page, 'account-signed-up');
  decideEnquirer(id, 'approve');
  await page.locator('#login-go').waitFor();
  await page.click('#login-go');
  await page.locator('[data-testid=signed-in]').waitFor();
  if (shots) await screenshot(page, 'account-signed-in');
  return id;
}
