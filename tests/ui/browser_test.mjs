#!/usr/bin/env node
/*
 * Browser tests of the admin pages (/admin) of billing-httpd, in headless
 * Debian chromium driven by playwright-core.  Prints TAP (meson protocol
 * 'tap', suite 'browser').
 *
 * Starts its own billing-httpd (from BL_BUILD_DIR) on a free 127.0.0.1 port
 * against a fresh database bltest_ui_<pid> (migrated, 500 seeded
 * subscribers, an ADMIN made with billing-cli), runs the operator's
 * scenario in a fresh browser profile, then stops the server and drops the
 * database.  Skips (TAP "1..0 # SKIP reason") when chromium or
 * playwright-core is missing: scripts/test installs both.
 *
 * Environment: BL_BUILD_DIR, BL_SOURCE_DIR, MYSQL_* and REDIS_* (scripts/services env),
 * CHROMIUM (default /usr/bin/chromium), UI_SCREENSHOT_DIR (save screenshots there).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = process.env.BL_SOURCE_DIR || path.resolve(HERE, '..', '..');
const BUILD = process.env.BL_BUILD_DIR || path.join(SRC, 'build');
const HTTPD = path.join(BUILD, 'frontends', 'httpd', 'billing-httpd');
const CLI = process.env.BILLING_CLI || path.join(BUILD, 'frontends', 'cli', 'billing-cli');
const WORKER = path.join(BUILD, 'frontends', 'worker', 'billing-worker');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DB = `bltest_ui_${process.pid}`;
const PASSWORD = 'correct horse battery';
const MONTH = '2026-10';
const SHOTS = process.env.UI_SCREENSHOT_DIR || '';

/* HH:MM in Asia/Seoul, `minutes` from now */
function kstHHMM(minutes) {
  const d = new Date(Date.now() + 9 * 3600e3 + minutes * 60e3);
  return d.toISOString().slice(11, 16);
}

function skip(reason) {
  console.log(`1..0 # SKIP ${reason}`);
  process.exit(0);
}

if (!fs.existsSync(CHROMIUM))
  skip(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; scripts/test does it)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip(`playwright-core is not installed: run 'npm ci' in tests/ui (scripts/test does it) [${e.code || e.message}]`);
}
for (const exe of [HTTPD, CLI, WORKER])
  if (!fs.existsSync(exe)) {
    console.log(`1..1\nnot ok 1 - ${exe} is not built`);
    process.exit(1);
  }

const QUIET_END = kstHHMM(120);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-ui-test.'));
const env = {
  ...process.env,
  MYSQL_HOST: process.env.MYSQL_HOST || '127.0.0.1', MYSQL_PORT: process.env.MYSQL_PORT || '13306',
  MYSQL_USER: process.env.MYSQL_USER || 'app', MYSQL_PASSWORD: process.env.MYSQL_PASSWORD ?? 'app',
  MYSQL_DATABASE: DB, REDIS_PREFIX: `bltest:ui:${process.pid}:`,
  BILLING_DATA_KEY: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  BILLING_PWHASH_FAST: '1', BILLING_ENV: 'test', BILLING_MAILDIR: '',
  /* some sends fail for good, so there are dead letters to retry */
  BILLING_MOCK_SMS_PERMANENT_PERMILLE: '300', BILLING_MOCK_EMAIL_PERMANENT_PERMILLE: '300',
  /* quiet hours around now (KST), whatever the hour: NOTICE SMS are held (issue 21 step) */
  BILLING_QUIET_START: kstHHMM(-60), BILLING_QUIET_END: QUIET_END, BILLING_QUIET_SMS_NOTICE: '1',
};
delete env.BILLING_ENV_FILE;
delete env.BILLING_MIGRATIONS_DIR;

function sql(statement) {
  const r = spawnSync('mariadb', ['--no-defaults', '--protocol=TCP', `-h${env.MYSQL_HOST}`, `-P${env.MYSQL_PORT}`,
    `-u${env.MYSQL_USER}`, '-N', '-B', '-e', statement], { env: { ...env, MYSQL_PWD: env.MYSQL_PASSWORD }, encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`sql failed: ${statement.slice(0, 80)}: ${r.stderr}`);
  return r.stdout;
}

/* a query in this test's database */
const dbq = (statement) => sql(`USE \`${DB}\`; ${statement}`).trim();

function run(exe, args, input) {
  const r = spawnSync(exe, args, { env, cwd: tmp, input, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`${path.basename(exe)} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

let server = null, serverLog = '';
async function startServer() {
  server = spawn(HTTPD, ['--port', '0', '--bind', '127.0.0.1', '--threads', '4'], { env, cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (d) => { serverLog += d; });
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const m = serverLog.match(/listening on 127\.0\.0\.1:(\d+)/);
    if (m) return `http://127.0.0.1:${m[1]}`;
    if (server.exitCode !== null) throw new Error(`billing-httpd exited: ${serverLog}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('billing-httpd did not start');
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const done = new Promise((res) => server.once('exit', res));
  server.kill('SIGTERM');
  const t = setTimeout(() => server.kill('SIGKILL'), 15000);
  await done;
  clearTimeout(t);
}

/* ---- TAP ---- */
const results = [];
let failures = 0;
async function step(name, fn) {
  try {
    await fn();
    results.push(`ok ${results.length + 1} - ${name}`);
  } catch (e) {
    failures++;
    const msg = String(e && e.stack || e).split('\n').slice(0, 6).map((l) => `  # ${l}`).join('\n');
    results.push(`not ok ${results.length + 1} - ${name}\n${msg}`);
  }
  console.log(results[results.length - 1]);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

let browser = null, profile = null, page = null, base = '';
const pageErrors = [];
try {
  sql(`DROP DATABASE IF EXISTS \`${DB}\`; CREATE DATABASE \`${DB}\``);
  run(CLI, ['migrate']);
  run(CLI, ['seed', '--users', '500', '--month', MONTH]);
  run(CLI, ['admin', 'create', 'admin', '--role', 'ADMIN'], `${PASSWORD}\n`);
  run(CLI, ['admin', 'create', 'viewer', '--role', 'VIEWER'], `${PASSWORD}\n`);
  base = await startServer();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-ui-chromium.'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, locale: 'ko-KR', viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    /* the fresh profile directory is passed as --user-data-dir by playwright */
  });
  page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.accept()); /* data-confirm */
} catch (e) {
  console.log(`1..1\nnot ok 1 - set-up\n  # ${String(e.stack || e).split('\n').join('\n  # ')}`);
  await cleanup();
  process.exit(1);
}

async function shot(name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `billing-ui-${name}.png`), fullPage: true });
}
const text = async (sel) => (await page.locator(sel).first().textContent() || '').trim();

console.log('1..23');

await step('an anonymous visit goes to the login page; a wrong password is refused; log in', async () => {
  await page.goto(`${base}/admin/batch`);
  check(new URL(page.url()).pathname === '/admin/login', `at ${page.url()}`);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'wrong password!');
  await page.click('#login-form button[type=submit]');
  check((await text('.field-error')).includes('올바르지 않습니다'), 'login error shown');
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL('**/admin/batch'), page.click('#login-form button[type=submit]')]);
  check((await text('h1')) === '정산 배치', 'back on the page asked for');
  check((await text('header .user')).startsWith('admin'), 'user shown');
});

let runId = 0;
await step('start a batch for the seeded month and watch the progress bar reach 100%', async () => {
  await page.goto(`${base}/admin/batch`);
  await page.fill('#batch-start input[name=month]', '2026-13');
  await page.click('#batch-start button[type=submit]');
  check((await text('.err-slot[data-slot="month"] .field-error')).includes('2026-13'), 'month error next to the field');
  await page.fill('#batch-start input[name=month]', MONTH);
  await page.selectOption('#batch-start select[name=mode]', 'NORMAL');
  /* one subscriber a chunk: the run takes a couple of seconds, long enough to watch */
  await page.fill('#batch-start input[name=chunk_size]', '1');
  await page.fill('#batch-start input[name=partitions]', '1');
  /* what the run page shows when it loads and at each poll (kept over the reload at the end) */
  await page.addInitScript(() => {
    const log = (s) => sessionStorage.setItem('seen', (sessionStorage.getItem('seen') || '') + s + ' ');
    document.addEventListener('DOMContentLoaded', () => {
      const box = document.querySelector('#run-progress');
      if (!box) return;
      const pct = () => box.querySelector('[data-k="percent"]').textContent.trim();
      log(`load:${box.getAttribute('data-status')}:${pct()}`);
      new MutationObserver(() => log(`poll:${box.getAttribute('data-status')}:${pct()}`))
        .observe(box, { attributes: true, attributeFilter: ['data-polled'] });
    });
  });
  await Promise.all([page.waitForURL(/\/admin\/batch\/\d+/), page.click('#batch-start button[type=submit]')]);
  runId = Number(page.url().match(/\/admin\/batch\/(\d+)/)[1]);
  check(runId > 0, 'run page');
  /* wait for the end: the page shows 100% and, when it saw the run going, reloads once itself */
  let seenLog = '';
  for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
    try {
      seenLog = await page.evaluate(() => sessionStorage.getItem('seen') || '');
      const last = seenLog.trim().split(' ').pop() || '';
      if (last === 'load:COMPLETED:100.0%') break;
    } catch { /* navigating (the reload) */ }
    await page.waitForTimeout(100);
  }
  await page.waitForLoadState('load');
  check((await text('#run-progress [data-k="percent"]')) === '100.0%', `at 100%: ${seenLog}`);
  check((await page.locator('#run-progress').getAttribute('data-status')) === 'COMPLETED', 'COMPLETED');
  const seen = seenLog.trim().split(' ');
  if (seen[0].startsWith('load:STARTED')) {
    /* the page polled and, when the run ended, reloaded itself to show the result */
    check(seen.some((s) => s.startsWith('poll:')), `progress polled: ${seen.join(' ')}`);
    check(seen[seen.length - 1] === 'load:COMPLETED:100.0%', `reloaded when done: ${seen.join(' ')}`);
    console.log(`# progress seen: ${seen.join(' ')}`);
  } else {
    console.log(`# the run ended before its page loaded (${seen.join(' ')}): live polling not observed`);
  }
  check(Number(await page.locator('#run-progress progress').getAttribute('value')) === 100, 'bar at 100');
  const processed = await text('#run-progress [data-k="processed"]');
  const total = await text('#run-progress [data-k="total"]');
  check(processed === '500' && total === '500', `processed/total ${processed}/${total}`);
  check((await text('#run-progress .badge')) === '완료', 'badge 완료');
  check((await page.locator('#failures tbody tr').count()) >= 1, 'failures listed');
  await shot('run');
});

await step('the dashboard shows the run, message counts and the SVG charts', async () => {
  /* messages for the charts and dead letters: a reservation of the month's bills, expanded and sent */
  run(CLI, ['reservation', 'create', '--template', 'DEFAULT_BILLING_SMS', '--month', MONTH]);
  run(CLI, ['reservation', 'tick']);
  run(WORKER, ['--idle-exit-ms', '1500', '--threads', '4']);
  await page.goto(`${base}/admin`);
  check((await text('#run-progress h2 a')) === `실행 #${runId}`, 'current run');
  check((await text('#run-progress [data-k="percent"]')) === '100.0%', 'at 100%');
  check((await page.locator('figure.chart svg').count()) >= 3, 'three charts');
  check((await page.locator('figure.chart.bars g.bar rect').count()) >= 2, 'bars drawn');
  check(Number((await text('#dead-count')).replace(/,/g, '')) > 0, 'dead letters counted');
  await shot('dashboard');
});

await step('search statements and open one', async () => {
  await page.goto(`${base}/admin/statements`);
  await page.fill('#statement-search input[name=month]', MONTH);
  await page.click('#statement-search button[type=submit]');
  const row = page.locator('#statements tbody tr').first();
  const billed = (await row.locator('td b').textContent()).trim();
  await Promise.all([page.waitForURL(/\/admin\/statements\/\d+\/2026-10/), row.locator('a').first().click()]);
  check((await text('h1')).startsWith('정산서'), 'statement page');
  check((await text('#billed')) === billed, `billed ${billed}`);
  check((await page.locator('#statement table.lines tbody tr').count()) >= 1, 'lines');
});

await step('edit a template: live preview, and an unknown variable is named next to its field', async () => {
  await page.goto(`${base}/admin/templates/DEFAULT_BILLING_SMS`);
  const body = page.locator('textarea[name=body_text]');
  await body.fill('[LG U+] {{userName}}님 브라우저 시험 {{totalPrice|won}}');
  await page.waitForFunction(() => document.querySelector('#preview-text').textContent.includes('홍길동님 브라우저 시험 85,750원'));
  check((await text('#preview-kind')) === 'SMS', 'kind SMS');
  await body.fill('[LG U+] {{userNam}}님 안내');
  await page.waitForFunction(() => {
    const e = document.querySelector('.err-slot[data-slot="body_text"] .field-error');
    return e && e.textContent.includes('unknown variable');
  });
  check((await text('.err-slot[data-slot="body_text"] .field-error')).includes('userName'), 'did you mean');
  /* saving the broken draft is refused by the server, with the error at the field */
  await page.click('#save');
  check((await text('.err-slot[data-slot="body_text"] .field-error')).includes('unknown variable'), 'server-side error');
  await body.fill('[LG U+] {{userName}}님 {{targetMonth|month}} 청구금액 {{totalPrice|won}}');
  await Promise.all([page.waitForURL(/ok=saved/), page.click('#save')]);
  check((await text('.flash')) === '저장했습니다.', 'saved');
  check((await text('p.meta')).includes('버전 2'), 'version 2');
  await shot('template');
});

let resId = 0;
await step('create a reservation (the missing variable is shown first) and cancel it', async () => {
  await page.goto(`${base}/admin/reservations/new`);
  await page.selectOption('select[name=template_code]', 'NOTICE_MAINTENANCE_SMS');
  await page.check('input[name=target][value=group]');
  await page.selectOption('select[name=group_code]', 'VIP');
  const when = new Date(Date.now() + 9 * 3600e3 + 86400e3).toISOString().slice(0, 16); /* tomorrow, KST */
  await page.fill('input[name=scheduled_at]', when);
  await page.click('#create-reservation');
  check((await text('.err-slot[data-slot="params"] .field-error')).includes('maintenanceDate'), 'missing variable at params');
  await page.fill('textarea[name=params]', '{"maintenanceDate":"2026-12-01","startTime":"02:00","endTime":"06:00"}');
  await Promise.all([page.waitForURL(/\/admin\/reservations\/\d+\?ok=created/), page.click('#create-reservation')]);
  resId = Number(page.url().match(/reservations\/(\d+)/)[1]);
  check((await text('h2 .badge')) === '대기', 'WAITING');
  await Promise.all([page.waitForURL(/ok=canceled/), page.click('#cancel-reservation')]);
  check((await text('h2 .badge')) === '취소됨', 'CANCELED');
  await page.goto(`${base}/admin/reservations`);
  check((await text(`#reservations tr[data-id="${resId}"] .badge`)) === '취소됨', 'in the list');
});

await step('retry a failed message from the dead letters', async () => {
  await page.goto(`${base}/admin/dead`);
  const button = page.locator('#messages button[data-retry]').first();
  const id = await button.getAttribute('data-retry');
  await Promise.all([page.waitForURL(/ok=retried/), button.click()]);
  check((await text('.flash')) === '재발송을 요청했습니다.', 'flash');
  check((await page.locator(`#messages tr[data-id="${id}"]`).count()) === 0, 'no longer dead');
  await page.goto(`${base}/admin/messages/${id}`);
  check((await text('h2 .badge')) === '대기', 'WAITING again');
});

/* ---- issue 21: the operator walk-through ---- */

await step('messages newest first with names; the dead letters\' total; a bulk retry says how many', async () => {
  await page.goto(`${base}/admin/messages`);
  const ids = (await page.locator('#messages tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.id))));
  check(ids.length === 50 && ids.every((id, i) => i === 0 || id < ids[i - 1]), `newest first: ${ids.slice(0, 5)}`);
  check(ids[0] === Number(dbq('SELECT MAX(id) FROM messages')), `the newest first: ${ids[0]}`);
  const name = dbq(`SELECT u.name FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id = ${ids[0]}`);
  check((await text('#messages tbody tr:first-child td.user')).startsWith(name), `the subscriber's name ${name}`);
  await Promise.all([page.waitForURL(/cursor=/), page.click('a[rel=next]')]);
  const next = Number(await page.locator('#messages tbody tr[data-id]').first().getAttribute('data-id'));
  check(next < ids[49], `page two continues below: ${next}`);

  const dead = Number(dbq("SELECT COUNT(*) FROM messages WHERE status = 'DEAD'"));
  await page.goto(`${base}/admin/dead`);
  check((await text('#dead-total')).includes(`총 ${dead.toLocaleString('en-US')}건`), `total ${dead}: ${await text('#dead-total')}`);
  const user = dbq("SELECT user_id FROM messages WHERE status = 'DEAD' ORDER BY id LIMIT 1");
  const mine = Number(dbq(`SELECT COUNT(*) FROM messages WHERE status = 'DEAD' AND user_id = ${user}`));
  await page.goto(`${base}/admin/dead?user_id=${user}`);
  check((await text('#dead-total')).includes(`총 ${mine}건`), `the filter's total ${mine}`);
  await Promise.all([page.waitForURL(/ok=retried_n/), page.click('#retry-all')]);
  check((await text('.flash')) === `메시지 ${mine}건의 재발송을 요청했습니다.`, `flash: ${await text('.flash')}`);
  check((await text('#dead-total')).includes('총 0건'), 'none left for that subscriber');
});


await step('a new template with an existing code is refused, nothing is overwritten', async () => {
  const before = dbq("SELECT MAX(version), SUM(enabled), MIN(purpose) FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS'");
  await page.goto(`${base}/admin/templates/new`);
  await page.fill('#template-form input[name=code]', 'DEFAULT_BILLING_SMS');
  await page.fill('#template-form input[name=name]', 'x');
  await page.selectOption('#template-form select[name=purpose]', 'NOTICE');
  await page.uncheck('#template-form input[name=enabled]');
  await page.fill('textarea[name=body_text]', 'hi');
  const [resp] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/templates'), page.click('#save')]);
  check(resp.status() === 409, `status ${resp.status()}`);
  const err = await text('.err-slot[data-slot="code"] .field-error');
  check(err.includes('이미 있습니다') && err.includes('DEFAULT_BILLING_SMS'), `error at the code: ${err}`);
  check(dbq("SELECT MAX(version), SUM(enabled), MIN(purpose) FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS'") === before,
    'the stored template is unchanged');
});

let billResId = 0;
await step('disabling a template in use asks with the counts; the hold shows on the reservation and the dashboard', async () => {
  /* the run's billing reservation waits (BILLING_RESERVATION_DELAY_S) on DEFAULT_BILLING_SMS */
  billResId = Number(dbq(`SELECT MAX(id) FROM message_reservations WHERE status = 'WAITING' AND target_month = '${MONTH}'`));
  check(billResId > 0, 'a waiting billing reservation');
  await page.goto(`${base}/admin/templates/DEFAULT_BILLING_SMS`);
  check((await text('#template-usage')).includes('예약'), 'usage shown next to the button');
  await page.click('#toggle-enabled');
  await page.waitForSelector('#confirm-disable');
  check((await text('#confirm-disable')).includes('멈춥니다'), 'the confirmation says what stops');
  check(dbq("SELECT SUM(enabled) FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS'") !== '0', 'not yet disabled');
  await Promise.all([page.waitForURL(/ok=disabled/), page.click('#confirm-disable-button')]);
  check((await text('#template-hold')).includes('멈춰 있습니다'), 'the template page shows the hold');
  await page.goto(`${base}/admin/reservations/${billResId}`);
  const hold = await text('#reservation-hold');
  check(hold.includes('DEFAULT_BILLING_SMS') && hold.includes('사용'), `reservation hold: ${hold}`);
  await page.goto(`${base}/admin`);
  const d = await text('#holds li[data-kind="TEMPLATE_DISABLED"]');
  check(d.includes('DEFAULT_BILLING_SMS') && d.includes('해결'), `dashboard hold: ${d}`);
  /* the way out */
  await page.goto(`${base}/admin/templates/DEFAULT_BILLING_SMS`);
  await Promise.all([page.waitForURL(/ok=enabled/), page.click('#toggle-enabled')]);
  await page.goto(`${base}/admin`);
  check((await page.locator('#holds li[data-kind="TEMPLATE_DISABLED"]').count()) === 0, 'hold gone');
});

await step('batch form: a bad month says 01-12, both bad numbers are named at their own fields', async () => {
  await page.goto(`${base}/admin/batch`);
  await page.fill('#batch-start input[name=month]', '2026-13');
  await page.click('#batch-start button[type=submit]');
  const m = await text('.err-slot[data-slot="month"] .field-error');
  check(m.includes('01부터 12') && !/[a-z]{4,}/.test(m), `Korean month error: ${m}`);
  await page.fill('#batch-start input[name=month]', MONTH);
  await page.fill('#batch-start input[name=partitions]', '-1');
  await page.fill('#batch-start input[name=chunk_size]', '0');
  await page.click('#batch-start button[type=submit]');
  check((await page.locator('.err-slot[data-slot="partitions"] .field-error').count()) === 1, 'partitions error once');
  check((await page.locator('.err-slot[data-slot="chunk_size"] .field-error').count()) === 1, 'chunk error');
  check((await page.locator('.err-slot[data-slot="_form"] .field-error').count()) === 0, 'nothing repeated at the top');
});

await step('a future month is refused unless forced; a month without charges asks and then says 0 charges', async () => {
  await page.goto(`${base}/admin/batch`);
  await page.fill('#batch-start input[name=month]', '2999-01');
  await page.click('#batch-start button[type=submit]');
  check((await text('.err-slot[data-slot="month"] .field-error')).includes('미래'), 'future refused');
  check((await page.locator('#ask-future').count()) === 1, 'asks to force');
  await page.fill('#batch-start input[name=month]', '2020-01');
  await page.click('#batch-start button[type=submit]');
  check((await text('.err-slot[data-slot="month"] .field-error')).includes('청구 내역이 없습니다'), 'empty month asks');
  check(dbq("SELECT COUNT(*) FROM batch_runs WHERE target_month = '2020-01'") === '0', 'no run yet');
  await page.check('#ask-empty input');
  await Promise.all([page.waitForURL(/\/admin\/batch\/\d+/), page.click('#batch-start button[type=submit]')]);
  /* the run page reloads itself once when a run it watched ends (app.js); a reload of
   * our own raced with it ("Not attached to an active page"): wait for the server's
   * rendering of the ended run instead */
  await page.waitForSelector('#zero-charges');
  await page.waitForLoadState('load');
  check((await text('#run-progress .badge')).includes('청구 0건'), 'says 0 charges');
  check((await page.locator('#zero-charges').count()) === 1, 'explains it');
  check(dbq("SELECT COUNT(*) FROM message_reservations WHERE target_month = '2020-01'") === '0', 'no billing reservation');
});

await step('a NOTICE SMS reserved now in quiet hours: created, expanded, and shown waiting for the window end', async () => {
  await page.goto(`${base}/admin/reservations/new`);
  await page.selectOption('select[name=template_code]', 'NOTICE_MAINTENANCE_SMS');
  await page.check('input[name=target][value=group]');
  await page.selectOption('select[name=group_code]', 'VIP');
  await page.fill('textarea[name=params]', '{"maintenanceDate":"2026-12-01","startTime":"02:00","endTime":"06:00"}');
  await Promise.all([page.waitForURL(/\/admin\/reservations\/\d+\?ok=created/), page.click('#create-reservation')]);
  const id = Number(page.url().match(/reservations\/(\d+)/)[1]);
  const quiet = await text('#reservation-quiet');
  check(quiet.includes(QUIET_END), `quiet-hours end at creation (${QUIET_END}): ${quiet}`);
  run(CLI, ['reservation', 'tick']);
  await page.goto(`${base}/admin/reservations/${id}`);
  check((await text('h2 .badge')) === '생성 완료', 'expansion done, not "sent"');
  // the page's message counts come from the server's count cache: recounted
  // within seconds of a change (docs/http.md), so reload until they are
  let d = await text('#delivery');
  for (let i = 0; i < 40 && !d.includes('발송 대기'); i++) {
    await page.waitForTimeout(500);
    await page.goto(`${base}/admin/reservations/${id}`);
    d = await text('#delivery');
  }
  check(d.includes('발송 대기') && !d.includes('발송 완료'), `delivery held: ${d}`);
  check((await text('#reservation-quiet')).includes('발송됩니다'), 'says when');
  await page.goto(`${base}/admin`);
  check((await text('#holds li[data-kind="QUIET_HOURS"]')).includes('까지'), 'dashboard shows the quiet hours');
  await page.goto(`${base}/admin/reservations/${billResId}`);
  check((await text('#requester')).includes('정산 실행'), 'requester in words');
});

await step('the dashboard headlines the newest real run and labels attempts', async () => {
  run(CLI, ['batch', 'run', '--month', MONTH, '--mode', 'dry-run']);
  await page.goto(`${base}/admin`);
  check((await text('#run-progress h2')).includes('일반'), `not the dry run: ${await text('#run-progress h2')}`);
  check((await text('#attempts-window')).includes('시도'), 'attempts labelled');
});

await step('a DEAD message\'s last attempt says final, USER_ALL cannot be edited, no favicon request', async () => {
  const favicon = [];
  page.on('request', (q) => { if (new URL(q.url()).pathname === '/favicon.ico') favicon.push(q.url()); });
  const dead = Number(dbq("SELECT MAX(id) FROM messages WHERE status = 'DEAD' AND attempts > 0"));
  check(dead > 0, 'a dead letter with attempts');
  await page.goto(`${base}/admin/messages/${dead}`);
  const badges = await page.locator('#attempts tbody tr .badge').allTextContents();
  check(badges[badges.length - 1] === '실패 (최종)', `last attempt: ${badges.join(', ')}`);
  check(!badges.some((b) => b.includes('재시도 예정')), `no retry promised: ${badges.join(', ')}`);
  await page.goto(`${base}/admin/groups/USER_ALL`);
  check((await page.locator('#group-edit').count()) === 0 && (await page.locator('#group-fixed').count()) === 1,
    'USER_ALL has no edit form');
  await page.waitForTimeout(300);
  check(favicon.length === 0, `favicon requested: ${favicon.join(' ')}`);
});

await step('values are escaped: a group named <script> shows as text', async () => {
  await page.goto(`${base}/admin/groups`);
  await page.fill('#group-form input[name=code]', 'UI_XSS');
  await page.fill('#group-form input[name=name]', '<script>window.pwned=1</script><b>x</b>');
  await Promise.all([page.waitForURL(/\/admin\/groups\/UI_XSS/), page.click('#group-form button[type=submit]')]);
  check((await text('h1')).includes('<script>window.pwned=1</script>'), 'shown as text');
  check(await page.evaluate(() => window.pwned === undefined), 'not run');
  await page.goto(`${base}/admin/groups`);
  check((await page.locator('#groups b').count()) === 0, 'no markup injected');
});

await step('the suppression list: an operator adds an address (masked) and removes it; a VIEWER only sees it', async () => {
  await page.goto(`${base}/admin/suppressions`);
  check((await text('h1')).includes('수신 차단'), 'title');
  check((await page.locator('nav a[href="/admin/suppressions"]').count()) === 1, 'a menu link');
  const addr = 'ui-block@customers.test';
  await page.fill('#suppression-form input[name=email]', addr);
  await page.selectOption('#suppression-form select[name=reason]', 'COMPLAINT');
  await page.fill('#suppression-form input[name=note]', '고객 요청');
  await Promise.all([page.waitForURL(/ok=suppressed/), page.click('#suppression-form button[type=submit]')]);
  const row = page.locator('#suppressions tbody tr', { hasText: '스팸 신고' });
  check((await row.count()) === 1, 'one COMPLAINT row');
  const cells = (await row.textContent()) || '';
  check(cells.includes('*') && cells.includes('고객 요청') && cells.includes('admin'), `masked row: ${cells}`);
  check(!(await page.content()).includes(addr), 'the address is nowhere on the page');
  check(dbq("SELECT COUNT(*) FROM audit_log WHERE action = 'suppression.add' AND actor = 'admin'") === '1', 'audited');
  // the same address again: refused on the page, at the form
  await page.fill('#suppression-form input[name=email]', addr);
  const [again] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/admin/suppressions')
    && r.request().method() === 'POST'), page.click('#suppression-form button[type=submit]')]);
  check(again.status() === 409, `duplicate: ${again.status()}`);
  check((await page.locator('#suppression-form [role=alert]').count()) === 1, 'the conflict is shown at the form');
  // a VIEWER sees the list, masked, without the forms
  const login = await fetch(`${base}/admin/login`, { method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ username: 'viewer', password: PASSWORD }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const html = await (await fetch(`${base}/admin/suppressions`, { headers: { cookie } })).text();
  check(html.includes('스팸 신고') && !html.includes('id="suppression-form"') && !html.includes('/remove"'),
    'viewer: the list without forms');
  const id = await row.getAttribute('data-id');
  const csrf = (html.match(/name="csrf" value="([0-9a-f]{64})"/) || [])[1];
  const denied = await fetch(`${base}/admin/suppressions/${id}/remove`, { method: 'POST', redirect: 'manual',
    headers: { cookie }, body: new URLSearchParams({ csrf }) });
  check(denied.status === 403, `viewer remove: ${denied.status}`);
  // the operator removes it
  await Promise.all([page.waitForURL(/ok=unsuppressed/),
    page.click(`#suppressions tr[data-id="${id}"] button[type=submit]`)]);
  check((await page.locator('#suppressions tbody tr', { hasText: '스팸 신고' }).count()) === 0, 'removed');
  check(dbq("SELECT COUNT(*) FROM audit_log WHERE action = 'suppression.remove'") === '1', 'removal audited');
});

await step('a VIEWER sees no operator forms and cannot post one', async () => {
  /* a second client (the browser profile keeps one session) */
  const login = await fetch(`${base}/admin/login`, { method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ username: 'viewer', password: PASSWORD }) });
  check(login.status === 303, `login ${login.status}`);
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const html = await (await fetch(`${base}/admin/batch`, { headers: { cookie } })).text();
  check(html.includes('<h1>정산 배치</h1>') && !html.includes('id="batch-start"'), 'no start form');
  const csrf = (html.match(/name="csrf" value="([0-9a-f]{64})"/) || [])[1];
  check(csrf, 'csrf token in the logout form');
  const r = await fetch(`${base}/admin/batch`, { method: 'POST', redirect: 'manual', headers: { cookie },
    body: new URLSearchParams({ month: MONTH, csrf }) });
  check(r.status === 403, `POST as viewer: ${r.status}`);
  const noCsrf = await fetch(`${base}/admin/logout`, { method: 'POST', redirect: 'manual', headers: { cookie },
    body: new URLSearchParams({ csrf: '0'.repeat(64) }) });
  check(noCsrf.status === 403, `logout with a wrong CSRF token: ${noCsrf.status}`);
});

await step('the audit page (ADMIN): linked, filtered by actor, action and time, paginated; a VIEWER gets 403', async () => {
  /* 60 entries of one actor at fixed instants (KST), 30 in each of two minutes */
  const rows = Array.from({ length: 60 }, (_, i) =>
    `('2026-01-15 10:0${i < 30 ? 0 : 1}:${String(i % 30).padStart(2, '0')}', 'ui-pager', 'group.add', 'G${i}', NULL)`);
  dbq(`INSERT INTO audit_log (at, actor, action, target, detail_json) VALUES ${rows.join(',')}`);
  await page.goto(`${base}/admin`);
  await Promise.all([page.waitForURL(/\/admin\/audit$/), page.click('#nav-audit')]);
  check((await text('h1')) === '감사 로그', `title: ${await text('h1')}`);
  check((await page.locator('#audit tbody tr[data-id]').count()) === 50, 'a page of 50');
  /* an action: the <script> group created by the admin in the step before */
  await page.selectOption('#audit-filter select[name=action]', 'group.create');
  await Promise.all([page.waitForURL(/action=group\.create/), page.click('#audit-search')]);
  const actions = await page.locator('#audit tbody td[data-action]').evaluateAll((ts) => ts.map((t) => t.dataset.action));
  check(actions.length > 0 && actions.every((a) => a === 'group.create'), `actions: ${actions.join(',')}`);
  check((await text('#audit tbody')).includes('UI_XSS') && (await text('#audit tbody')).includes('그룹 생성'),
    'the group, labelled in Korean');
  /* an actor and a family of actions, over two pages */
  await page.fill('#audit-filter input[name=actor]', 'ui-pager');
  await page.selectOption('#audit-filter select[name=action]', 'group.');
  await Promise.all([page.waitForURL(/actor=ui-pager/), page.click('#audit-search')]);
  check((await page.locator('#audit tbody tr[data-id]').count()) === 50, 'first page of the actor');
  check((await text('#audit tbody tr:first-child')).includes('G59'), 'newest first');
  await Promise.all([page.waitForURL(/cursor=/), page.click('a[rel=next]')]);
  check((await page.locator('#audit tbody tr[data-id]').count()) === 10, 'the other 10 on page two');
  check((await text('#audit tbody tr:last-child')).includes('G0'), 'the oldest last');
  check((await page.inputValue('#audit-filter input[name=actor]')) === 'ui-pager', 'the filter kept across pages');
  check((await page.locator('a[rel=next]').count()) === 0, 'no third page');
  /* a time range: the second minute only, whole */
  await page.goto(`${base}/admin/audit?actor=ui-pager`);
  await page.fill('#audit-filter input[name=from]', '2026-01-15T10:01');
  await page.fill('#audit-filter input[name=to]', '2026-01-15T10:01');
  await Promise.all([page.waitForURL(/from=/), page.click('#audit-search')]);
  const targets = await page.locator('#audit tbody tr[data-id] td:nth-child(4)').allTextContents();
  check(targets.length === 30 && targets[0] === 'G59' && targets[29] === 'G30', `range: ${targets.join(',')}`);
  check((await text('#audit tbody tr:first-child td:first-child')) === '2026-01-15 10:01:29', 'KST time to the second');
  await page.goto(`${base}/admin/audit?actor=ui-pager&to=2026-01-15T09:59`);
  check((await text('#audit tbody')).includes('조건에 맞는 기록이 없습니다'), 'nothing before');
  /* a VIEWER: no link, and the page is refused */
  const login = await fetch(`${base}/admin/login`, { method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ username: 'viewer', password: PASSWORD }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const dash = await (await fetch(`${base}/admin`, { headers: { cookie } })).text();
  check(dash.includes('<h1>') && !dash.includes('/admin/audit'), 'no audit link for a VIEWER');
  const r = await fetch(`${base}/admin/audit`, { headers: { cookie }, redirect: 'manual' });
  check(r.status === 403 && (await r.text()).includes('관리자(ADMIN)만'), `VIEWER: ${r.status}`);
  await shot('audit');
});

await step('every page answers (templates, versions, groups, messages, ...)', async () => {
  const paths = ['/admin', '/admin/batch', `/admin/batch/${runId}`, '/admin/statements', '/admin/templates',
    '/admin/templates/new', '/admin/templates/DEFAULT_BILLING_EMAIL', '/admin/templates/DEFAULT_BILLING_SMS/versions',
    '/admin/templates/DEFAULT_BILLING_SMS?version=1', '/admin/reservations', '/admin/reservations?status=CANCELED',
    '/admin/reservations/new', '/admin/messages', '/admin/messages?status=SUCCESS&channel=SMS', '/admin/messages/1',
    '/admin/dead', '/admin/groups', '/admin/groups/USER_ALL', '/admin/groups/VIP?q_name=%EA%B9%80', '/admin/audit',
    '/admin/suppressions', '/admin/messages?status=SUPPRESSED', '/admin/messages?status=BOUNCED'];
  for (const p of paths) {
    const r = await page.goto(`${base}${p}`);
    check(r.status() === 200, `${p}: ${r.status()}`);
    check((await page.locator('h1').count()) === 1, `${p}: a title`);
  }
  const r = await page.goto(`${base}/admin/no/such/page`);
  check(r.status() === 404 && (await text('h1')).includes('찾을 수 없습니다'), 'an HTML 404');
});

await step('without JavaScript: log in, preview a template with the button, retry a dead letter', async () => {
  const b2 = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const c2 = await b2.newContext({ javaScriptEnabled: false, locale: 'ko-KR', viewport: { width: 1280, height: 900 } });
    const p2 = await c2.newPage();
    p2.setDefaultTimeout(15000);
    await p2.goto(`${base}/admin/templates/NOTICE_MAINTENANCE_SMS`);
    await p2.fill('input[name=username]', 'admin');
    await p2.fill('input[name=password]', PASSWORD);
    await Promise.all([p2.waitForURL('**/admin/templates/NOTICE_MAINTENANCE_SMS'), p2.click('#login-form button[type=submit]')]);
    await p2.fill('textarea[name=body_text]', '{{userName}}님, 자바스크립트 없이 미리보기');
    await p2.click('button[name=action][value=preview]');
    check((await p2.locator('#preview-text').textContent()).includes('홍길동님, 자바스크립트 없이 미리보기'), 'preview rendered by the server');
    await p2.goto(`${base}/admin/dead`);
    const button = p2.locator('#messages button[data-retry]').first();
    const id = await button.getAttribute('data-retry');
    await Promise.all([p2.waitForURL(/ok=retried/), button.click()]);
    check((await p2.locator(`#messages tr[data-id="${id}"]`).count()) === 0, 'retried without JavaScript');
    const v = await (await fetch(`${base}/admin/templates/NOTICE_MAINTENANCE_SMS/versions`, {
      headers: { cookie: (await c2.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } })).text();
    check(v.includes('>v1<') && !v.includes('>v2<'), 'the preview saved nothing');
    await c2.close();
  } finally {
    await b2.close();
  }
});

await step('log out: back on the login page, and the pages need a login again', async () => {
  await page.goto(`${base}/admin`);
  await Promise.all([page.waitForURL(/\/admin\/login/), page.click('#logout')]);
  check((await text('.flash')) === '로그아웃했습니다.', 'flash');
  check((await page.locator('#login-form').count()) === 1, 'login form');
  await page.goto(`${base}/admin/messages`);
  check(new URL(page.url()).pathname === '/admin/login', `redirected: ${page.url()}`);
  check(pageErrors.length === 0, `no JavaScript errors: ${pageErrors.join('; ')}`);
});

async function cleanup() {
  try { if (browser) await browser.close(); } catch { /* gone */ }
  await stopServer();
  try { sql(`DROP DATABASE IF EXISTS \`${DB}\``); } catch (e) { console.log(`# drop database: ${e.message}`); }
  /* this run's Redis keys (stream, rate limits), when redis-cli is there */
  const rc = ['-h', env.REDIS_HOST || '127.0.0.1', '-p', env.REDIS_PORT || '16379'];
  const keys = spawnSync('redis-cli', [...rc, '--scan', '--pattern', `${env.REDIS_PREFIX}*`], { encoding: 'utf8', env });
  const list = (keys.stdout || '').split('\n').filter(Boolean);
  if (list.length) spawnSync('redis-cli', [...rc, 'DEL', ...list], { env });
  for (const d of [profile, tmp])
    if (d) fs.rmSync(d, { recursive: true, force: true });
}

await cleanup();
/* a sanitizer build of the server reports at exit (LeakSanitizer) or on the spot */
const sanitizer = serverLog.split('\n').filter((l) => /ERROR: (Address|Leak)Sanitizer|: runtime error: /.test(l));
if (sanitizer.length) {
  failures++;
  console.log(`not ok ${results.length + 1} - billing-httpd sanitizer reports\n${sanitizer.slice(0, 5).map((l) => `  # ${l}`).join('\n')}`);
} else {
  console.log(`ok ${results.length + 1} - billing-httpd stopped without sanitizer reports`);
}
if (failures) {
  console.log('# billing-httpd log (tail):');
  for (const l of serverLog.split('\n').slice(-30)) console.log(`# ${l}`);
}
process.exit(failures ? 1 : 0);
