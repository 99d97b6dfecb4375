// Phone health as a supervisor needs it: a cadre records two visits with no network,
// then comes back online on a link so poor that the sync's batches never get through
// (emulated by failing /api/sync); the phone's small health report still arrives.
// The phone's 本机状态 screen shows its 2 unsynced households, and the supervisor's
// 手机状态 lists that cadre first with 2 households and their age. Once the link is
// good again the sync completes and the console says 0.
// Usage: node phones.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { desk, launch } from "./lib.mjs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const step = (name) => console.log(`  · ${name}`);
const browser = await launch();
try {
  // No service worker: this scenario is about the sync's requests, which the page
  // makes itself (the worker never touches /api/), and routing them needs no worker.
  const context = await browser.newContext({ viewport: { width: 360, height: 760 }, deviceScaleFactor: 2, locale: "zh-CN", serviceWorkers: "block" });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  await page.goto(base);
  await page.fill("input[name=login]", "cadre03");
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("上次同步"), null, { timeout: 60_000 });
  step("cadre03 logged in and synced");

  // Offline: two visits (未遇, the shortest) on two households not visited this month.
  await context.setOffline(true);
  await page.click("button.chip:has-text('本月未走访')");
  const ids = (await page.locator("[data-testid=household-row]").evaluateAll((rows) => rows.map((r) => r.dataset.id))).slice(0, 2);
  for (const id of ids) {
    await page.click(`[data-testid=household-row][data-id="${id}"]`);
    await page.click("[data-testid=record-visit]");
    await page.click("[data-testid=mode-not_met]");
    await page.click("[data-testid=absent-working_away]");
    await page.click("[data-testid=step-next]"); // 未遇 has two steps: 方式, then 核对
    await page.click("[data-testid=save-visit]");
    await page.waitForSelector("[data-testid=draft-banner], [data-testid=record-visit], [data-testid=notice]");
    await page.click("button.back");
    await page.waitForSelector("[data-testid=household-row]");
  }
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("待同步 2"));
  step(`offline: visits recorded on ${ids.join(", ")}; the bar says 待同步 2`);

  // Online, but every sync batch fails.
  let reports = 0;
  await context.route("**/api/sync", (route) => route.abort("connectionreset"));
  page.on("request", (r) => { if (r.url().endsWith("/api/phone")) reports++; });
  await context.setOffline(false);
  await page.click("[data-testid=sync-now]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("同步未完成"), null, { timeout: 30_000 });
  assert.ok(reports >= 1, "the health report went out");
  await page.click("[data-testid=open-device]");
  await page.waitForSelector("[data-testid=device-page]");
  const unsynced = await page.textContent("[data-testid=device-unsynced]");
  assert.match(unsynced, /^2 户，最早的修改在 \d+ 分钟前$/, unsynced);
  await page.screenshot({ path: `${out}/phones-01-device.png`, fullPage: true });
  step(`online on a failing link: the sync did not complete; 本机状态 says "${unsynced}"`);

  // The supervisor's 手机状态: cadre03 first, with 2 households and their age.
  const sup = await desk(browser, base, "sup01");
  await sup.page.click("[data-testid=nav-phones]");
  await sup.page.waitForSelector("[data-testid=phone-row]");
  const first = sup.page.locator("[data-testid=phone-row]").first();
  assert.equal(await first.getAttribute("data-login"), "cadre03", "the cadre with unsynced work comes first");
  assert.equal(await first.locator("[data-testid=phone-unsynced]").getAttribute("data-count"), "2");
  const age = await first.locator("[data-testid=phone-unsynced]").textContent();
  assert.match(age, /^2 户，最早 \d+ 分钟前$/, age);
  assert.match(await first.locator("[data-testid=phone-concerns]").textContent(), /本月未同步|有未同步的记录/);
  await sup.page.screenshot({ path: `${out}/phones-02-console.png`, fullPage: true });
  step(`the supervisor's 手机状态 lists cadre03 first: "${age}"`);

  // The link recovers: the sync completes, and the console says 0.
  await context.unroute("**/api/sync");
  await page.click("button.back");
  await page.click("[data-testid=sync-now]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("待同步 0"), null, { timeout: 30_000 });
  await page.waitForTimeout(500);
  await sup.page.click("[data-testid=phones-refresh]");
  await sup.page.waitForFunction(() => document.querySelector("[data-testid=phone-row][data-login=cadre03] [data-testid=phone-unsynced]")?.dataset.count === "0");
  step("after a completed sync the console says 0 for cadre03");
  console.log("browser phones: 1 passed, 0 failed");
} finally {
  await browser.close();
}
