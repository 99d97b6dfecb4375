// 防返贫监测 in headless Chromium, against a `serve --demo` server: the admin sets this
// year's monitoring line in 系统管理 › 监测设置 (a bad year refused and named, nothing
// changed); a cadre's phone, after its sync, shows a household's per-capita income
// against that line; the cadre records a visit by video call with a medical bill; a
// 未遇 visit needs its reason; the supervisor's console shows the bill, the income
// panel and the flags. Usage: node monitoring.mjs BASE_URL ARTIFACTS_DIR
import { asAdmin, asSupervisor, desk, launch, period, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const step = (s) => console.log(`  · ${s}`);
const year = Number(period().slice(0, 4));

try {
  // 1. The admin's settings: the demo county has 2024 and 2026 rows.
  const { page: admin } = await desk(browser, base, "admin");
  await admin.click("[data-testid=nav-admin]");
  await admin.click("[data-testid=admin-tab-settings]");
  await admin.waitForSelector("[data-testid=settings-row]");
  const rows = await admin.locator("[data-testid=settings-row]").count();
  const years = [];
  for (let i = 0; i < rows; i++) years.push(Number(await admin.inputValue(`[data-testid=settings-year-${i}]`)));
  const mine = years.lastIndexOf(Math.max(...years.filter((y) => y <= year)));
  assert.ok(mine >= 0, `a row applies to ${year}: ${years}`);
  // A year out of range is refused, named, and nothing is kept.
  const kept = await admin.inputValue("[data-testid=settings-year-0]");
  await admin.fill("[data-testid=settings-year-0]", "1999");
  await admin.click("[data-testid=settings-save]");
  await admin.waitForSelector("[data-testid=settings-said].error");
  assert.match(await admin.textContent("[data-testid=settings-said]"), /1999/);
  const unchanged = await asAdmin(base, "GET", "/api/settings");
  assert.ok(!unchanged.years.some((y) => y.year === 1999), "nothing stored");
  await admin.fill("[data-testid=settings-year-0]", kept);
  // This year's line: 12,000 a head, so that the demo's poorer households fall below it.
  await admin.fill(`[data-testid=settings-line-${mine}]`, "12000");
  await admin.click("[data-testid=settings-save]");
  await admin.waitForSelector("[data-testid=settings-said].admin-ok");
  await admin.screenshot({ path: `${out}/monitoring-01-settings.png`, fullPage: true });
  const saved = await asAdmin(base, "GET", "/api/settings");
  assert.equal(saved.years.filter((y) => y.year <= year).at(-1).monitoring_line, 12000);
  step(`admin: year 1999 refused and named; the line of ${years[mine]} set to 12,000 from 监测设置`);

  // The dashboard counts households below it at once.
  const report = await asSupervisor(base, `/api/indicators?period=${period()}`);
  assert.ok(report.indicators.below_line > 0, JSON.stringify(report.indicators));
  step(`dashboard: ${report.indicators.below_line} households below the line, ${report.indicators.near_line} just above`);

  // 2. The cadre's phone: a household below the line says so, with how it was computed.
  const { page } = await phone(browser, base, "cadre01");
  const flagged = await asSupervisor(base, `/api/flagged?period=${period()}&kind=not_visited&cadre=cadre01`);
  const ids = flagged.map((r) => r.id);
  let below = null;
  for (const id of ids.slice(0, 40)) {
    await page.click(`[data-testid=household-row][data-id="${id}"]`);
    await page.waitForSelector("[data-testid=income-box]");
    const flags = await page.textContent("[data-testid=flags]");
    if (flags.includes("低于防返贫监测线")) {
      below = id;
      break;
    }
    await page.click("button.back");
    await page.waitForSelector("[data-testid=household-row]");
  }
  assert.ok(below, "a household of cadre01 below 12,000 a head");
  assert.match(await page.textContent("[data-testid=income-line]"), /12,000/);
  assert.match(await page.textContent("[data-testid=income-how]"), /个月有记录/);
  await page.screenshot({ path: `${out}/monitoring-02-household.png`, fullPage: true });
  step(`phone: ${below} shows 低于防返贫监测线 with its per-capita income (${await page.textContent("[data-testid=per-capita]")}) and how it was computed`);

  // 3. A visit by video call with a medical bill.
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-video]");
  await page.waitForSelector("[data-testid=video-hint]");
  await toStep(page, "risks");
  await page.fill("[data-testid=expense-medical]", "6000");
  await page.screenshot({ path: `${out}/monitoring-03-expenses.png`, fullPage: true });
  await toStep(page, "review");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=household-head]");
  let visit;
  for (let i = 0; i < 60 && !visit?.mode; i++) {
    visit = (await asSupervisor(base, `/api/households/${below}`)).household.visits[period()];
    if (!visit?.mode) {
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
  }
  assert.equal(visit.mode, "video");
  assert.deepEqual(visit.expenses, { medical: 6000 });
  const cov = await asSupervisor(base, `/api/indicators?period=${period()}&cadre=cadre01`);
  step(`phone: a video visit with 6,000 of medical costs reached the server (coverage of cadre01 counts in person only: ${cov.indicators.visited_in_person})`);

  // 4. The console shows the bill, the income panel and the flags.
  const { page: sup } = await desk(browser, base, "sup01");
  await sup.goto(`${base}/console/#/review/${below}/${period()}`);
  await sup.waitForSelector("[data-testid=visit-expenses]");
  assert.match(await sup.textContent("[data-testid=visit-expenses]"), /医疗支出 6,000/);
  assert.match(await sup.textContent("[data-testid=income-line]"), /12,000/);
  assert.match(await sup.textContent("[data-testid=flags]"), /低于防返贫监测线/);
  await sup.screenshot({ path: `${out}/monitoring-04-console.png`, fullPage: true });
  step("console: the visit's 刚性支出, the income panel and 低于防返贫监测线");
  console.log("monitoring: passed");
} finally {
  await browser.close();
}
