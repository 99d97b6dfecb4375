// The visit in steps as a cadre lives it (issue 17), on a 360-pixel touch phone:
//   1. every screen has its own address: list (本月未走访, scrolled) → household →
//      visit → 下一步 → 下一步 (step 3); the back button goes back one step at a time,
//      then to the household, then to the list with its filter and scroll as left;
//   2. a visit started offline and the page reloaded at step 3: the draft is there
//      (the household and the list say 草稿), the cadre finishes it, and the server
//      then holds exactly what was entered before and after the reload;
//   3. 未遇 has two steps (方式, 核对) and records no answers.
// Usage: node steps.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { asSupervisor, launch, period as thisMonth, phone } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const period = thisMonth();
const step = (name) => console.log(`  · ${name}`);
try {
  const { context, page } = await phone(browser, base, "cadre01");
  const shot = (name) => page.screenshot({ path: `${out}/steps-${name}.png`, fullPage: true });
  const hash = () => page.evaluate(() => location.hash);
  const shown = () => page.locator(".step-body:not(.hidden)").getAttribute("data-testid");
  const onServer = async (id) => {
    for (let i = 0; i < 60; i++) {
      const v = (await asSupervisor(base, `/api/households/${id}`)).household.visits[period];
      if (v?.mode) return v;
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
  };

  // 1. Addresses and the back button.
  await page.click("button.chip:has-text('本月未走访')");
  const rows = page.locator("[data-testid=household-row]");
  const ids = await rows.evaluateAll((r) => r.map((x) => x.dataset.id));
  assert.ok(ids.length >= 4, "enough unvisited households");
  const [a, b, c] = ids.slice(-3);
  await page.locator(`[data-testid=household-row][data-id="${a}"]`).scrollIntoViewIfNeeded();
  const left = await page.evaluate(() => window.scrollY);
  await page.click(`[data-testid=household-row][data-id="${a}"]`);
  assert.equal(await hash(), `#/h/${a}`, "the household has its address");
  await page.click("[data-testid=record-visit]");
  assert.equal(await hash(), `#/h/${a}/v/${period}/start`);
  // By phone: nobody's work is required, so 下一步 goes on from an empty step.
  await page.click("[data-testid=mode-phone]");
  await page.click("[data-testid=step-next]");
  await page.click("[data-testid=step-next]");
  assert.equal(await shown(), "visit-step-income", "two 下一步 reach step 3");
  assert.equal(await hash(), `#/h/${a}/v/${period}/income`);
  await shot("01-step3");
  await page.goBack();
  await page.waitForFunction(() => location.hash.endsWith("/work"));
  assert.equal(await shown(), "visit-step-work", "back: the step before");
  await page.goBack();
  await page.waitForFunction(() => location.hash.endsWith("/start"));
  assert.equal(await page.locator("[data-testid=mode-phone].on").count(), 1, "the form kept its answers across steps");
  await page.goBack();
  await page.waitForSelector("[data-testid=household-head]");
  assert.equal(await page.locator("[data-testid=draft-banner]").count(), 1, "the household says it has a draft");
  await page.goBack();
  await page.waitForSelector("button.chip.on:has-text('本月未走访')");
  await page.waitForTimeout(300);
  const back = await page.evaluate(() => window.scrollY);
  assert.ok(left < 100 || Math.abs(back - left) < 80, `the list is where it was left (${left} → ${back})`);
  assert.equal(await page.locator(`[data-testid=household-row][data-id="${a}"] [data-testid=draft-badge]`).count(), 1, "the row says 草稿");
  await shot("02-back-on-list");
  step(`back ×4 from step 3: work, start, household (草稿), list (本月未走访, scroll ${left} → ${back})`);

  // 2. Offline, reloaded at step 3, finished.
  await context.setOffline(true);
  await page.click(`[data-testid=household-row][data-id="${b}"]`);
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-phone]");
  await page.click("[data-testid=step-next]");
  const jobs = page.locator("fieldset.member-job");
  const n = await jobs.count();
  const entered = {};
  for (let i = 0; i < n; i++) {
    const mid = (await jobs.nth(i).getAttribute("data-testid")).slice(4);
    await page.selectOption(`[data-testid=status-${mid}]`, i === 0 ? "employed" : "seeking");
    if (i === 0) {
      await page.selectOption(`[data-testid=channel-${mid}]`, "in_county");
      await page.fill(`[data-testid=employer-${mid}]`, "县产业园");
      await page.fill(`[data-testid=income-${mid}]`, "2900");
    }
    entered[mid] = i === 0 ? "employed" : "seeking";
  }
  await page.click("[data-testid=step-next]");
  await page.fill("[data-testid=income-transfer]", "450");
  assert.equal(await page.inputValue("[data-testid=income-wage]"), n ? "2900" : "", "wages are the workers' sum");
  await page.waitForTimeout(300); // the draft is written as the cadre types
  await page.reload();
  await page.waitForSelector("[data-testid=visit-step-income]:not(.hidden)", { timeout: 30_000 });
  assert.equal(await page.inputValue("[data-testid=income-transfer]"), "450", "the draft survived the reload");
  assert.equal(await page.inputValue("[data-testid=income-wage]"), n ? "2900" : "");
  await shot("03-step-income-after-reload");
  step(`reloaded offline at step 3 (${await hash()}): the draft is there`);
  // The remaining steps, each looked at (test-artifacts/steps-0N-*.png).
  for (const [n, code] of [[4, "guarantees"], [5, "risks"]]) {
    await page.click(`[data-testid=step-${code}]`);
    await page.waitForSelector(`[data-testid=visit-step-${code}]:not(.hidden)`);
    await shot(`0${n}-step-${code}`);
  }
  await page.click("[data-testid=step-review]");
  await page.fill("[data-testid=note]", "重新加载后继续");
  await shot("06-step-review");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=household-head]");
  assert.equal(await page.locator("[data-testid=draft-banner]").count(), 0, "saved: no draft left");
  await context.setOffline(false);
  const saved = await onServer(b);
  assert.equal(saved?.mode, "phone");
  assert.equal(saved.income.transfer, 450);
  assert.equal(saved.note, "重新加载后继续");
  for (const [mid, status] of Object.entries(entered)) assert.equal(saved.employment[mid]?.status, status, `member ${mid}`);
  if (n) {
    const first = Object.keys(entered)[0];
    assert.equal(saved.employment[first].employer, "县产业园");
    assert.equal(saved.employment[first].monthly_income, 2900);
    assert.equal(saved.income.wage, 2900);
  }
  step("finished after the reload: the server holds what was entered before and after it");

  // 3. 未遇: two steps, no answers.
  await page.click("button.back");
  await page.waitForSelector("[data-testid=household-list]");
  await page.click("button.chip:has-text('全部')");
  await page.click(`[data-testid=household-row][data-id="${c}"]`);
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-not_met]");
  assert.equal(await page.locator("[data-testid=visit-steps] button").count(), 2, "未遇: 方式 and 核对");
  // Why not met is required: 下一步 without it stays here and says so.
  await page.click("[data-testid=step-next]");
  await page.waitForSelector("text=未遇须选择原因");
  assert.equal(await page.locator("[data-testid=absent-working_away]").count(), 1, "still on 方式");
  await page.click("[data-testid=absent-working_away]");
  await shot("07-not-met");
  await page.click("[data-testid=step-next]");
  await page.fill("[data-testid=note]", "家中无人");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=household-head]");
  const notMet = await onServer(c);
  assert.equal(notMet.mode, "not_met");
  assert.equal(notMet.absent_reason, "working_away");
  assert.deepEqual(notMet.employment, {}, "未遇 records no work");
  step("未遇: two steps, its reason required (外出务工), saved with its note and no answers");
  console.log("steps: passed");
} finally {
  await browser.close();
}
