// The offline promise, as a cadre lives it, in headless Chromium on a 360-pixel phone:
// log in, load the households, lose the network, record a visit, reload with no
// network (the app and the visit are still there), get the network back, and the
// visit reaches the server without pressing anything, although an admin rewrote that
// household's history meanwhile (the phone replaces its copy and carries the visit
// over, PROTOCOL.md §4.5). Screenshots go to the artifacts folder. Usage: node offline.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { asAdmin, asSupervisor, launch, period, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const step = (name) => console.log(`  · ${name}`);
try {
  const context = await browser.newContext({ viewport: { width: 360, height: 760 }, deviceScaleFactor: 2, locale: "zh-CN" });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  const shot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });

  // The first paint is the splash (index.html), replaced by the app once it starts.
  const html = await fetch(base).then((r) => r.text());
  assert.match(html, /id="splash"/, "index.html carries the splash");
  await page.goto(base);
  await page.waitForSelector("input[name=login]");
  assert.equal(await page.locator("#splash").count(), 0, "the splash is gone once the app runs");
  await page.fill("input[name=login]", "cadre01");
  await page.fill("input[name=password]", "huhujian2026");
  await shot("01-login");
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=household-row]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("上次同步"), null, { timeout: 60_000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  const total = await page.locator("[data-testid=household-row]").count();
  assert.ok(total > 10, `households downloaded: ${total}`);
  step(`logged in, ${total} households downloaded, service worker in control`);
  await shot("02-list");

  // Offline from here.
  await context.setOffline(true);
  await page.click("button.chip:has-text('本月未走访')");
  const row = page.locator("[data-testid=household-row]").first();
  const id = await row.getAttribute("data-id");
  await row.click();
  await page.waitForSelector("[data-testid=household-head]");
  await shot("03-household");
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  await toStep(page, "work");
  const jobs = page.locator("fieldset.member-job");
  const n = await jobs.count();
  for (let i = 0; i < n; i++) {
    const job = jobs.nth(i);
    await job.locator("select[data-testid^=status-]").selectOption(i === 0 ? "employed" : "seeking");
    if (i === 0) {
      await job.locator("select[data-testid^=channel-]").selectOption("in_county");
      await job.locator("input[data-testid^=income-]").fill("3200");
    }
  }
  await shot("04-visit-work");
  await toStep(page, "income");
  await page.fill("[data-testid=income-wage]", "3200");
  await toStep(page, "review");
  await page.fill("[data-testid=note]", "离线录入：无信号");
  await shot("04-visit-review");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=notice]");
  assert.match(await page.textContent("[data-testid=notice]"), /已保存/);
  step(`visit to ${id} recorded offline (${n} labour-force members)`);
  await shot("05-saved-offline");
  await page.waitForSelector("[data-testid=notice]", { state: "detached", timeout: 15_000 });
  step("the notice went away by itself");

  // Reload with no network: the app comes from the service worker, the visit from IndexedDB.
  // It stays on the screen it was on (its address), and its back button goes to the list.
  await page.reload();
  await page.waitForSelector("[data-testid=household-head]", { timeout: 30_000 });
  assert.equal(await page.evaluate(() => location.hash), `#/h/${id}`, "a reload stays on the household");
  await page.click("button.back");
  await page.waitForSelector(`[data-testid=household-row][data-id="${id}"] .badge.done`, { timeout: 30_000 });
  assert.match(await page.textContent("[data-testid=sync-status]"), /待同步 1/);
  step("reloaded offline: the app and the visit are there, 1 household waits to sync");
  await shot("06-reloaded-offline");

  // 退出 now would strand the visit: the app says so and stays until told.
  await page.click("header button:has-text('退出')");
  const warning = page.locator("[data-testid=logout-warning]");
  await warning.waitFor();
  assert.match(await warning.textContent(), /1 户的记录未同步，现在没有网络/);
  assert.equal(await page.locator("[data-testid=logout-sync]").count(), 0, "no sync offered with no network");
  await shot("06b-logout-warning");
  await page.click("[data-testid=logout-cancel]");
  assert.equal(await warning.count(), 0);
  assert.equal(await page.locator("[data-testid=household-row]").count() > 0, true, "still logged in");
  step("退出 with an unsynced visit offline warns (1 household) and cancelling keeps the session");
  await page.click("[data-testid=sync-now]");
  await page.waitForSelector("[data-testid=notice]:has-text('现在没有网络')");
  step("立即同步 offline says there is no network");
  await page.locator("[data-testid=household-row]").first().click();
  await page.waitForSelector("[data-testid=household-head]");
  await page.waitForSelector("[data-testid=notice]", { state: "detached", timeout: 1000 });
  await page.click("button.back");
  step("the notice did not follow the cadre to the next screen");

  // Meanwhile an admin rewrites that household's history: the phone holds the retired one.
  const rewritten = await asAdmin(base, "POST", `/api/admin/households/${id}/rewrite`);
  assert.equal(rewritten.status, 200, JSON.stringify(rewritten));
  assert.ok(rewritten.changes_before > 1, JSON.stringify(rewritten));
  step(`an admin rewrote ${id}'s history (${rewritten.changes_before} changes → 1) while the phone was offline`);

  // Network back: the visit goes up by itself.
  await context.setOffline(false);
  let arrived = null;
  for (let i = 0; i < 120 && !arrived; i++) {
    const row = (await asSupervisor(base, "/api/households")).find((r) => r.id === id);
    if (row?.last_visit === period() && row?.last_mode === "in_person") arrived = row;
    else await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(arrived, "the visit reached the server without pressing anything");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("待同步 0"), null, { timeout: 30_000 });
  assert.equal(await page.locator("[data-testid=sync-errors]").count(), 0, "no refusal shown");
  const history = await asAdmin(base, "GET", `/api/households/${id}/history`);
  assert.equal(history.length, 2, `the rewritten history and the carried-over visit: ${JSON.stringify(history).slice(0, 400)}`);
  const one = await asSupervisor(base, `/api/households/${id}`);
  assert.match(JSON.stringify(one), /离线录入：无信号/);
  step("network back: the phone replaced its copy of the rewritten household and the visit reached the server by itself");
  await shot("07-synced");
  console.log("browser: 1 passed, 0 failed");
} finally {
  await browser.close();
}
