// Drives Debian's Chromium with playwright-core for the Python e2e tests (tests/e2e/browser.py):
// one JSON command per line on stdin, one JSON answer per line on stdout ({ok, value} or
// {ok: false, error}). The browser runs headless with its own temporary profile, never reaches
// anything but what a test navigates to, and accepts the development certificate.
import fs from 'node:fs';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const axeSource = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.SINETTI_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Chromium's own background traffic would go nowhere on a closed network; keep it quiet.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-extensions', '--disable-default-apps'],
});
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 900 } });
const page = await context.newPage();

// Everything the page asks for, and every dialog or console line: a test of hostile HTML checks that
// nothing outside the portal was fetched and no script ran.
let requests = [];
let dialogs = [];
let consoleLines = [];
context.on('request', (r) => requests.push(r.url()));
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
page.on('console', (m) => consoleLines.push(m.text()));

const commands = {
  async navigate({ url }) {
    const r = await page.goto(url, { waitUntil: 'load' });
    return r ? r.status() : null;
  },
  // Clicks like a person (the element must be visible and enabled) and waits for the next page.
  async click({ selector }) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 30000 }),
                       page.click(selector, { timeout: 15000 })]);
    return page.url();
  },
  async type({ selector, text }) {
    const field = page.locator(selector);
    await field.fill('');
    await field.pressSequentially(text);
    return null;
  },
  // Chooses files for a file input as a person does in the file dialog: [{name, mimeType, base64}].
  async setFiles({ selector, files }) {
    await page.locator(selector).setInputFiles(
      files.map((f) => ({ name: f.name, mimeType: f.mimeType, buffer: Buffer.from(f.base64, 'base64') })));
    return null;
  },
  async press({ key }) {
    await page.keyboard.press(key);
    return null;
  },
  // Evaluated over the DevTools protocol, which the page's CSP (no script at all) does not cover.
  async evaluate({ expression }) {
    return await page.evaluate(expression);
  },
  async axe({ tags }) {
    await page.evaluate(axeSource);
    return await page.evaluate(async (values) => {
      const r = await globalThis.axe.run(document, { runOnly: { type: 'tag', values }, iframes: false });
      return r.violations.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target.join(' '))]);
    }, tags);
  },
  async frames() {
    return page.frames().map((f) => f.url());
  },
  async events() {
    const out = { requests, dialogs, console: consoleLines };
    requests = [];
    dialogs = [];
    consoleLines = [];
    return out;
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return path;
  },
};

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const { command, ...args } = JSON.parse(line);
    if (command === 'close') break;
    const run = commands[command];
    if (!run) throw new Error(`unknown command ${command}`);
    const value = await run(args);
    answer = { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    answer = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
