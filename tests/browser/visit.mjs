// The monthly visit as a cadre makes it when little changed (issue 17), on a 360-pixel
// touch phone, counting taps and typed fields, and checking what the server then holds:
//   1. nothing changed since the last visit: open the household, 记录本月走访, 入户,
//      全部与上月相同, 保存 — every carried answer is this month's, wages are the workers'
//      sum, nothing that is never carried (notes, 当月返乡) is;
//   2. one worker now seeks work and the water answer is given anew: on the 就业 step
//      that member's status changed (the hidden job fields are not stored), on the 保障
//      step 饮水 answered, then back on the first step 全部与上月相同 confirms the rest
//      and leaves both changed groups as entered (the other 两不愁三保障 answers, not
//      confirmed, are not saved);
//   3. an untouched form shows no red errors; 是 tapped twice stays 是; 下一步 with an
//      error (已就业 without a channel) stays on the step, outlines the field and says
//      how many remain.
// Usage: node visit.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { asSupervisor, launch, period as thisMonth, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const period = thisMonth();
const step = (name) => console.log(`  · ${name}`);
try {
  const { page } = await phone(browser, base, "cadre02");
  const shot = (name) => page.screenshot({ path: `${out}/visit-${name}.png`, fullPage: true });
  let taps = 0, typed = 0;
  const tap = async (selector) => { taps++; await page.click(selector); };

  // Households not visited this month whose last visit recorded work: candidates.
  await page.click("button.chip:has-text('本月未走访')");
  const ids = await page.locator("[data-testid=household-row]").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  const candidates = [];
  for (const id of ids.reverse()) { // from the bottom: coming back must restore the scroll
    const d = await asSupervisor(base, `/api/households/${id}`);
    const visits = Object.entries(d.household.visits).filter(([p, v]) => p < period && ["in_person", "phone"].includes(v.mode));
    const last = visits.at(-1)?.[1];
    const jobs = Object.entries(last?.employment ?? {}).filter(([, e]) => e.status);
    if (jobs.length >= 2 && !d.household.visits[period]) candidates.push({ id, last, jobs });
    if (candidates.length === 2) break;
  }
  assert.equal(candidates.length, 2, "two unvisited households with two workers last time");

  // 1. Nothing changed.
  const first = candidates[0];
  taps = 0;
  await page.locator(`[data-testid=household-row][data-id="${first.id}"]`).scrollIntoViewIfNeeded();
  const listScroll = await page.evaluate(() => window.scrollY);
  await tap(`[data-testid=household-row][data-id="${first.id}"]`);
  assert.equal(await page.evaluate(() => window.scrollY), 0, "a household opens at its top");
  await tap("[data-testid=record-visit]");
  await page.waitForSelector("[data-testid=carried-banner]");
  const untouched = await page.locator(".visit .error:visible").count();
  assert.equal(untouched, 0, "an untouched form shows no errors");
  await shot("01-carried");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=same-all]");
  await shot("02-all-confirmed");
  await tap("[data-testid=save-visit-top]");
  await page.waitForSelector("[data-testid=notice]");
  assert.ok(taps <= 6, `a visit where nothing changed took ${taps} taps`);
  step(`nothing changed: ${taps} taps, ${typed} typed fields`);
  const onServer = async (id) => {
    for (let i = 0; i < 60; i++) {
      const v = (await asSupervisor(base, `/api/households/${id}`)).household.visits[period];
      if (v?.mode) return v;
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
  };
  let saved = await onServer(first.id);
  assert.equal(saved?.mode, "in_person", "the visit reached the server");
  for (const [mid, job] of first.jobs) {
    const now = saved.employment[mid];
    assert.ok(now, `member ${mid}'s work carried over`);
    for (const f of ["status", "channel", "employer", "place", "monthly_income"]) {
      assert.deepEqual(now[f], job[f], `member ${mid}: ${f} carried over`);
    }
    assert.equal(now.returned, null, "当月返乡 is never carried");
  }
  const sum = Object.values(saved.employment).filter((e) => e.status === "employed").reduce((s, e) => s + (e.monthly_income ?? 0), 0);
  assert.equal(saved.income.wage, sum, "wages are the workers' sum");
  assert.deepEqual(saved.guarantees, first.last.guarantees, "两不愁三保障 confirmed as it was");
  assert.equal(saved.note, "", "notes are never carried");
  step(`the server holds the carried visit: ${Object.keys(saved.employment).length} members' work, wages ${sum}`);

  // 2. One worker now seeks work, 饮水 answered anew, the rest the same.
  const second = candidates[1];
  await page.click("button.back");
  await page.waitForSelector("button.chip.on:has-text('本月未走访')");
  const back = await page.evaluate(() => window.scrollY);
  assert.ok(listScroll < 100 || back > 0, `the list comes back where it was left (${listScroll} → ${back})`);
  step(`back on the list: the 本月未走访 filter is still on, scrolled to ${back} (left at ${listScroll})`);
  taps = 0; typed = 0;
  await page.waitForSelector(`[data-testid=household-row][data-id="${second.id}"]`);
  await tap(`[data-testid=household-row][data-id="${second.id}"]`);
  await tap("[data-testid=record-visit]");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=step-next]");
  await page.waitForSelector("[data-testid=visit-step-work]:not(.hidden)");
  const [changedId] = second.jobs[0];
  // 下一步 with an error stays, outlines it and says how many remain.
  const [otherId] = second.jobs[1];
  const otherStatus = await page.inputValue(`[data-testid=status-${otherId}]`);
  await page.selectOption(`[data-testid=status-${otherId}]`, "employed");
  await page.selectOption(`[data-testid=channel-${otherId}]`, "");
  await page.click("[data-testid=step-next]");
  await page.waitForSelector(".flagged");
  assert.ok(await page.locator("[data-testid=visit-step-work]:not(.hidden)").count(), "下一步 with an error stays on the step");
  // The channel, and the status of every other member (an in-person visit needs each).
  const remaining = Number((await page.textContent("[data-testid=notice]")).match(/还有 (\d+) 处需要改正/)?.[1]);
  assert.equal(remaining, await page.locator("[data-testid=visit-step-work] [data-testid=problem].error").count(), "the notice counts the errors shown");
  assert.equal(await page.locator(".flagged").count(), 1, "the first of them is outlined");
  assert.equal(await page.evaluate(() => document.activeElement?.closest(".flagged") !== null), true, "and has the cursor");
  await shot("03-error-outlined");
  step(`下一步 with 已就业 and no channel: stayed, outlined the first, 还有 ${remaining} 处需要改正`);
  // Put the other member back as it was (untouched, so 全部与上月相同 confirms it): a new visit.
  await page.click("button.back");
  await page.waitForSelector("[data-testid=draft-banner]");
  await page.click("[data-testid=draft-discard]");
  await page.click("[data-testid=draft-discard-confirm]");
  await page.waitForSelector("[data-testid=draft-banner]", { state: "detached" });
  assert.equal(otherStatus, "", "last month's status is not this month's until confirmed");
  step("放弃草稿: the half-done visit is gone");
  taps = 1; typed = 0; // the household row, tapped above
  await tap("[data-testid=record-visit]");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=step-next]");
  taps++;
  await page.selectOption(`[data-testid=status-${changedId}]`, "seeking");
  assert.equal(await page.locator(`[data-testid=channel-${changedId}]`).count(), 0, "job fields hide for a job seeker");
  // 是 tapped twice stays 是.
  await tap("[data-testid=step-guarantees]");
  await tap("[data-testid=g-water] button:has-text('是')");
  await tap("[data-testid=g-water] button:has-text('是')");
  assert.equal(await page.locator("[data-testid=g-water] button.on").textContent(), "是", "a second tap keeps the answer");
  await tap("[data-testid=step-start]");
  await tap("[data-testid=same-all]");
  assert.equal(await page.inputValue(`[data-testid=status-${changedId}]`), "seeking", "全部与上月相同 leaves a changed member as entered");
  await shot("04-one-changed");
  await tap("[data-testid=save-visit-top]");
  await page.waitForSelector("[data-testid=notice]");
  assert.ok(taps <= 15 && typed <= 3, `a visit with one change took ${taps} taps and ${typed} typed fields`);
  step(`one worker changed: ${taps} taps, ${typed} typed fields`);
  saved = await onServer(second.id);
  assert.equal(saved?.mode, "in_person", "the second visit reached the server");
  const changed = saved.employment[changedId];
  assert.equal(changed.status, "seeking");
  assert.equal(changed.channel, null, "a hidden channel is not stored");
  assert.equal(changed.monthly_income, null, "a hidden income is not stored");
  assert.equal(saved.guarantees.water, true, "the answer given is stored");
  for (const [mid, job] of second.jobs.slice(1)) {
    assert.equal(saved.employment[mid]?.employer, job.employer, `member ${mid}'s work confirmed by 全部与上月相同`);
  }
  const unconfirmed = Object.entries(saved.guarantees).filter(([k, v]) => k !== "water" && v !== null);
  assert.deepEqual(unconfirmed, [], "guarantees not confirmed are not saved");
  const workers = Object.values(saved.employment).filter((e) => e.status === "employed").reduce((s, e) => s + (e.monthly_income ?? 0), 0);
  assert.equal(saved.income.wage ?? 0, workers, "wages follow the remaining workers");
  step("the server holds the changed visit: hidden fields empty, unconfirmed answers absent");
  console.log("visit: passed");
} finally {
  await browser.close();
}
