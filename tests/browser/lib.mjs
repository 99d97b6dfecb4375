// What every browser scenario shares: Debian's headless Chromium, a 360-pixel phone,
// logging in and waiting for the first sync, and the supervisor's API.
import { chromium } from "playwright-core";

/// Headless Chromium, quiet on a closed network.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/// A new phone (browser context) logged in as `login`, after its first sync, with the
/// service worker in control (so that it can reload offline). `options` add to the
/// context's (`hasTouch`, …); `prepare(context)` runs before the first page opens
/// (permissions, a location).
export async function phone(browser, base, login, options = {}, prepare = async () => {}) {
  const context = await browser.newContext({ viewport: { width: 360, height: 760 }, deviceScaleFactor: 2, locale: "zh-CN", ...options });
  await prepare(context);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`${login} page error:`, e.message));
  await page.goto(base);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("上次同步"), null, { timeout: 60_000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  return { context, page, login };
}

/// GET `path` as the county supervisor sup01.
export async function asSupervisor(base, path) {
  const login = await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: "sup01", password: "huhujian2026", device_id: "browser-tests-desk" }) }).then((r) => r.json());
  return fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${login.token}` } }).then((r) => r.json());
}

/// `method` `path` as the admin (JSON answer, and the status as `status`).
export async function asAdmin(base, method, path) {
  const login = await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: "admin", password: "huhujian2026", device_id: "browser-tests-admin" }) }).then((r) => r.json());
  const resp = await fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${login.token}` } });
  const body = await resp.json();
  return Object.assign(body, { status: resp.status });
}

/// This month in China, `YYYY-MM`.
export const period = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 7);

/// A supervisor's (or admin's) console in a browser: `width` 1280 for a desk, 360 for
/// a phone. Resolves once the dashboard has its coverage table.
export async function desk(browser, base, login = "sup01", width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: width > 600 ? 900 : 760 }, deviceScaleFactor: width > 600 ? 1 : 2,
    locale: "zh-CN", acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`${login} page error:`, e.message));
  await page.goto(base);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=coverage-row]", { timeout: 60_000 });
  return { context, page, login };
}

/// Goes to step `code` of the open visit form (start, work, income, guarantees, risks,
/// review) by its tab on the progress line, and waits for it to show.
export async function toStep(page, code) {
  await page.click(`[data-testid=step-${code}]`);
  await page.waitForSelector(`[data-testid=visit-step-${code}]:not(.hidden)`);
}
