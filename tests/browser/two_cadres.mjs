// Two cadres, two phones (two browser contexts), one household (the demo's
// 5323250101001 is assigned to both cadre01 and cadre02), both offline:
//   cadre01 records this month's visit with wage 3200;
//   cadre02 records the same visit with wage 3000 (the same field), a note (another
//   field) and adds a member.
// Back online, both sync by themselves. Every different-field edit and the new member
// are on the server and on both phones; the wage clash is listed as a conflict on both
// phones and in the supervisor's queue; the supervisor's coverage counts the visit.
// The supervisor then settles the clash in the console's conflict queue, and it
// disappears from the queue and, after their next sync, from both phones.
// Usage: node two_cadres.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { asSupervisor, desk, launch, period as thisMonth, phone as newPhone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
const id = "5323250101001";
mkdirSync(out, { recursive: true });
const browser = await launch();
const api = (path) => asSupervisor(base, path);
const period = thisMonth();
const visitedIn = async (site) => (await api(`/api/coverage?by=site&period=${period}`)).find((r) => r.key === site).visited;

const phone = (who) => newPhone(browser, base, who);

async function recordVisit({ page }, wage, note) {
  await page.click(`[data-testid=household-row][data-id="${id}"]`);
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  await toStep(page, "work");
  const jobs = page.locator("fieldset.member-job");
  for (let i = 0; i < await jobs.count(); i++) {
    await jobs.nth(i).locator("select[data-testid^=status-]").selectOption("seeking");
  }
  await toStep(page, "income");
  await page.fill("[data-testid=income-wage]", String(wage));
  await toStep(page, "review");
  if (note) await page.fill("[data-testid=note]", note);
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=notice]");
}

try {
  const site = "阳光社区安置点";
  const before = await visitedIn(site);
  const a = await phone("cadre01");
  const b = await phone("cadre02");
  await a.context.setOffline(true);
  await b.context.setOffline(true);
  await recordVisit(a, 3200, null);
  await recordVisit(b, 3000, "二人同户走访：已核实务工情况");
  await b.page.click("[data-testid=add-member]");
  await b.page.fill("[data-testid=member-name]", "新生儿小芳");
  await b.page.fill("[data-testid=member-birth]", `${period}-01`);
  await b.page.selectOption("[data-testid=member-joined]", "birth");
  await b.page.fill("[data-testid=member-joined-on]", `${period}-01`);
  await b.page.click("[data-testid=member-save]");
  await b.page.waitForSelector("li.member:has-text('新生儿小芳')");
  await a.page.screenshot({ path: `${out}/21-cadre01-offline.png`, fullPage: true });
  await b.page.screenshot({ path: `${out}/22-cadre02-offline.png`, fullPage: true });
  console.log("  · both cadres edited the household offline");

  await a.context.setOffline(false);
  await b.context.setOffline(false);
  // Each phone syncs by itself; the first to sync learns the second's edits on its
  // next round (every minute), or at once from the button.
  for (const p of [a, b, a]) {
    await p.page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("待同步 0"), null, { timeout: 90_000 });
    await p.page.click("button:has-text('立即同步')");
    await p.page.waitForFunction(() => !document.querySelector(".syncbar.busy"), null, { timeout: 30_000 });
  }
  for (const p of [a, b]) {
    await p.page.waitForSelector("li.member:has-text('新生儿小芳')", { timeout: 30_000 });
    await p.page.waitForSelector("[data-testid=conflict]", { timeout: 30_000 });
    const text = await p.page.textContent("[data-testid=conflict]");
    assert.match(text, /3200/, `${p.login} sees cadre01's wage`);
    assert.match(text, /3000/, `${p.login} sees cadre02's wage`);
    await p.page.screenshot({ path: `${out}/${p.login === "cadre01" ? 23 : 24}-${p.login}-merged.png`, fullPage: true });
  }
  console.log("  · both phones hold the new member and list the wage clash");

  const history = await api(`/api/households/${id}/history`);
  const fields = history.flatMap((h) => h.fields.map(([k, v]) => [k, v, h.uploaded_by]));
  assert.ok(fields.some(([k, v, by]) => k === `v/${period}/mode` && v === "in_person"), "the visit mode is on the server");
  assert.ok(fields.some(([k, v, by]) => k === `v/${period}/note` && by === "cadre02"), "cadre02's note is on the server");
  assert.ok(fields.some(([k, v, by]) => k.endsWith("/name") && v === "新生儿小芳" && by === "cadre02"), "the new member is on the server");
  const conflicts = (await api("/api/conflicts")).filter((c) => c.household_id === id);
  assert.equal(conflicts.length, 1, JSON.stringify(conflicts));
  assert.equal(conflicts[0].key, `v/${period}/i/wage`);
  const authors = conflicts[0].values.map((v) => v.author.by).sort();
  assert.deepEqual(authors, ["cadre01", "cadre02"]);
  console.log("  · the server holds every edit; the supervisor's queue lists the clash with both authors");

  const after = await visitedIn(site);
  assert.equal(after, before + 1, `coverage of ${site}: ${before} → ${after}`);
  console.log(`  · supervisor coverage of ${site} for ${period}: ${before} → ${after} visited in person`);

  // The supervisor settles it in the console.
  const sup = await desk(browser, base);
  await sup.page.click("[data-testid=nav-conflicts]");
  const item = sup.page.locator(`[data-testid=console-conflict][data-household="${id}"][data-key="v/${period}/i/wage"]`);
  await item.waitFor();
  const shown = await item.textContent();
  assert.match(shown, /3200/);
  assert.match(shown, /3000/);
  await sup.page.screenshot({ path: `${out}/25-console-conflicts.png`, fullPage: true });
  assert.match(shown, /3000 元/, "amounts show with their unit");
  await item.locator("[data-testid=console-conflict-choice][data-value='3000']").click();
  await item.locator("[data-testid=console-conflict-confirm]").click();
  await item.waitFor({ state: "detached", timeout: 30_000 });
  assert.equal((await api("/api/conflicts")).filter((c) => c.household_id === id).length, 0, "gone from the server's queue");
  console.log("  · the supervisor picked 3000 in the console's conflict queue; the queue no longer lists it");
  for (const p of [a, b]) {
    await p.page.click("button:has-text('立即同步')");
    await p.page.waitForSelector("[data-testid=conflict]", { state: "detached", timeout: 30_000 });
  }
  console.log("  · after their next sync neither phone shows the conflict");
  console.log("browser two cadres: 1 passed, 0 failed");
} finally {
  await browser.close();
}
