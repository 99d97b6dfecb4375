// The supervisor console in headless Chromium, against a `serve --demo` server:
//   1. coverage on the dashboard equals the households actually visited in person
//      (counted independently from the household list), and moves by one when a
//      cadre's visit arrives; the site → grid → not-visited drill-down lists them;
//   2. a visit returned with a comment reaches the cadre's phone, is corrected and
//      resubmitted, comes back to the queue and is approved; the history keeps it all;
//      The drill-down has its own address: a household opened from it shows its
//      cadres, members and last visit, and coming back finds the list as it was;
//      coverage by cadre starts with the furthest behind and sorts by each column;
//   2b. the visit after the one decided is one tap away (下一户); two others are
//      approved at once, each its own review step;
//   3. the period's XLSX export downloads and parses, with one 户表 row per household
//      and masked ID numbers;
//   4. screenshots of the dashboard at desk and phone widths.
// Usage: node console.mjs BASE_URL ARTIFACTS_DIR
import { asSupervisor, desk, launch, period as thisMonth, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import XLSX from "xlsx";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const api = (path) => asSupervisor(base, path);
const period = thisMonth();
const step = (s) => console.log(`  · ${s}`);
const site = "阳光社区安置点";

/// Households of `site` visited in person this period, from the household list.
const visitedFromList = async () =>
  (await api("/api/households")).filter((r) => r.site === site && r.last_visit === period && r.last_mode === "in_person").length;
/// Waits until `check()` (an async server-side condition) holds: the phone's own
/// status line can still show an earlier save's notice, so the server is the judge.
async function until(what, check, ms = 60_000) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting until ${what}`);
}
/// The dashboard's figure for `site`.
async function dashboardVisited(page) {
  const row = page.locator(`[data-testid=coverage-row][data-key="${site}"]`);
  await row.waitFor();
  return Number(await row.getAttribute("data-visited"));
}

try {
  // 1. Coverage matches what was visited.
  const sup = await desk(browser, base);
  await sup.page.screenshot({ path: `${out}/30-dashboard-desk.png`, fullPage: true });
  const before = await dashboardVisited(sup.page);
  assert.equal(before, await visitedFromList(), "dashboard coverage = households visited in person");
  step(`dashboard: ${site} ${before} visited in person, as the household list says`);

  const cadre = await phone(browser, base, "cadre01");
  const { page } = cadre;
  await page.click("button.chip:has-text('本月未走访')");
  const row = page.locator("[data-testid=household-row]").first();
  const id = await row.getAttribute("data-id");
  await row.click();
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  await toStep(page, "work");
  const jobs = page.locator("fieldset.member-job");
  for (let i = 0; i < await jobs.count(); i++) {
    await jobs.nth(i).locator("select[data-testid^=status-]").selectOption("employed");
    await jobs.nth(i).locator("select[data-testid^=channel-]").selectOption("in_county");
  }
  await toStep(page, "income");
  await page.fill("[data-testid=income-wage]", "300");
  await toStep(page, "review");
  await page.click("[data-testid=save-visit]");
  await until("the visit reached the server", async () => (await api("/api/households")).find((r) => r.id === id)?.last_visit === period);
  const hh = (await api("/api/households")).find((r) => r.id === id);
  assert.equal(hh.site, site, "cadre01's households are in 阳光社区安置点");

  await sup.page.reload();
  const after = await dashboardVisited(sup.page);
  assert.equal(after, before + 1, `coverage ${before} → ${after}`);
  assert.equal(after, await visitedFromList());
  step(`cadre01 visited ${id}: dashboard ${before} → ${after}, still equal to the list`);

  // Drill down to the grid of that household and check it is no longer "not visited".
  await sup.page.click(`[data-testid=coverage-row][data-key="${site}"]`);
  const gridRow = sup.page.locator(`[data-testid=coverage-row][data-key="${site} / ${hh.grid}"]`);
  await gridRow.waitFor();
  const gridVisited = Number(await gridRow.getAttribute("data-visited"));
  const gridAssigned = Number(await gridRow.getAttribute("data-assigned"));
  await gridRow.click();
  await sup.page.waitForSelector("[data-testid=drill-here]:has-text('本月未入户')");
  const notVisited = sup.page.locator("[data-testid=not-visited] [data-testid=console-row]");
  await sup.page.waitForFunction(() => document.querySelector("[data-testid=not-visited]") || document.body.textContent.includes("全部已入户"));
  assert.equal(await notVisited.count(), gridAssigned - gridVisited, "the not-visited list has the grid's unvisited households");
  assert.equal(await sup.page.locator(`[data-testid=not-visited] [data-id="${id}"]`).count(), 0, `${id} is not in it`);
  step(`drill-down ${site} → ${hh.grid}: ${gridVisited}/${gridAssigned}, ${gridAssigned - gridVisited} listed as not visited`);
  const drilled = await sup.page.evaluate(() => location.hash);
  assert.match(drilled, /^#\/dashboard\/nv/, "the drill-down has its own address");
  if (await notVisited.count()) {
    const other = await notVisited.first().getAttribute("data-id");
    await notVisited.first().click();
    await sup.page.waitForSelector("[data-testid=no-visit]");
    const detail = await api(`/api/households/${other}`);
    assert.ok(detail.cadres.length >= 1, "the household has a cadre");
    assert.match(await sup.page.textContent("[data-testid=household-cadres]"), new RegExp(detail.cadres[0].name));
    assert.equal(await sup.page.locator("[data-testid=console-members] li").count(), Object.keys(detail.household.members).length);
    const earlier = Object.keys(detail.household.visits).filter((p) => p < period).sort().at(-1);
    if (earlier) assert.match(await sup.page.textContent(".console-household"), new RegExp(`上次走访 ${earlier}`));
    await sup.page.screenshot({ path: `${out}/30b-not-visited-household.png`, fullPage: true });
    await sup.page.click("[data-testid=console-back]");
    await sup.page.waitForSelector("[data-testid=drill-here]:has-text('本月未入户')");
    assert.equal(await sup.page.evaluate(() => location.hash), drilled, "back on the drill-down where it was");
    step(`an unvisited household (${other}) shows its cadre, ${Object.keys(detail.household.members).length} members and its last visit (${earlier}); back finds the drill-down`);
  }
  // Coverage by cadre: the furthest behind first, then by each column.
  await sup.page.click("[data-testid=by-cadre]");
  await sup.page.waitForSelector("[data-testid=sort-rate].on");
  const cadreRows = async () => sup.page.locator("[data-testid=coverage-row]").evaluateAll((rows) =>
    rows.map((r) => ({ label: r.cells[0].textContent, visited: Number(r.dataset.visited), assigned: Number(r.dataset.assigned) })));
  const rate = (r) => (r.assigned ? r.visited / r.assigned : 1);
  const byRate = await cadreRows();
  assert.ok(byRate.length > 2, "several cadres");
  assert.ok(byRate.every((r, i) => i === 0 || rate(byRate[i - 1]) <= rate(r)), "cadres furthest behind first");
  await sup.page.click("[data-testid=sort-area]");
  const byName = await cadreRows();
  assert.deepEqual(byName.map((r) => r.label), [...byName.map((r) => r.label)].sort(), "sorted by name");
  await sup.page.click("[data-testid=sort-notvisited]");
  const byLeft = await cadreRows();
  assert.ok(byLeft.every((r, i) => i === 0 || byLeft[i - 1].assigned - byLeft[i - 1].visited >= r.assigned - r.visited), "most households left first");
  step(`coverage by cadre: ${byRate[0].label} furthest behind (${byRate[0].visited}/${byRate[0].assigned}); sorted by each column`);
  await sup.page.click("[data-testid=by-site]");

  // 2. Return for correction, and back.
  await sup.page.click("[data-testid=nav-reviews]");
  await sup.page.click(`[data-testid=review-list] [data-id="${id}"]`);
  await sup.page.waitForSelector("[data-testid=review-status][data-status=pending]");
  await sup.page.click("[data-testid=return]");
  await sup.page.waitForSelector("[data-testid=review-error]");
  assert.match(await sup.page.textContent("[data-testid=review-error]"), /退回时请写明/);
  await sup.page.fill("[data-testid=review-comment]", "工资性收入偏低，请核实后修改");
  await sup.page.click("[data-testid=return]");
  await sup.page.waitForSelector("[data-testid=review-status][data-status=returned]");
  await sup.page.screenshot({ path: `${out}/31-returned-desk.png`, fullPage: true });
  step(`supervisor returned ${id} with a comment (an empty comment was refused)`);

  await page.click("header h1");
  // The list kept its 本月未走访 filter, which no longer shows the visited household.
  await page.click("button.chip:has-text('全部')");
  await page.click("button:has-text('立即同步')");
  await page.waitForSelector(`[data-testid=household-row][data-id="${id}"] [data-testid=returned-badge]`, { timeout: 30_000 });
  await page.click(`[data-testid=household-row][data-id="${id}"]`);
  await page.waitForSelector("[data-testid=review-box][data-status=returned]");
  assert.match(await page.textContent("[data-testid=review-box]"), /工资性收入偏低/);
  await page.click("[data-testid=record-visit]");
  assert.match(await page.textContent("[data-testid=returned-banner]"), /工资性收入偏低，请核实后修改/);
  await page.screenshot({ path: `${out}/32-returned-phone.png`, fullPage: true });
  await page.fill("[data-testid=resubmit-reply]", "已核实，改为3300");
  await toStep(page, "income");
  await page.fill("[data-testid=income-wage]", "3300");
  await toStep(page, "review");
  await page.click("[data-testid=save-visit]");
  await until("the resubmission reached the server",
    async () => (await api(`/api/reviews?period=${period}&status=pending`)).rows.some((r) => r.id === id));
  step("cadre01 saw the comment on the phone, corrected the wage and resubmitted");

  await sup.page.click("[data-testid=nav-reviews]");
  await sup.page.click(`[data-testid=review-list] [data-id="${id}"]`);
  await sup.page.waitForSelector("[data-testid=review-status][data-status=pending]");
  assert.equal(await sup.page.locator("[data-testid=review-step]").count(), 2, "return and resubmit in the thread");
  assert.match(await sup.page.textContent("[data-testid=visit-detail]"), /3,300/);
  await sup.page.click("[data-testid=approve]");
  await sup.page.waitForSelector("[data-testid=review-status][data-status=approved]");
  const history = await api(`/api/households/${id}/history`);
  const steps = history.flatMap((h) => h.fields.filter(([k]) => k.includes("/rv/") && k.endsWith("/act")).map(([, v]) => `${v}:${h.uploaded_by}`));
  assert.deepEqual(steps, ["return:sup01", "resubmit:cadre01", "approve:sup01"]);
  step(`back in the queue with the corrected wage, approved; history: ${steps.join(" → ")}`);

  // 2b. 下一户, and two approved at once.
  await sup.page.click("[data-testid=review-next]");
  await sup.page.waitForFunction((id) => location.hash.startsWith("#/review/") && !location.hash.includes(id), id);
  await sup.page.waitForSelector("[data-testid=review-status][data-status=pending]");
  step("下一户 opened the next visit awaiting review");
  await sup.page.click("[data-testid=nav-reviews]");
  const picks = sup.page.locator("[data-testid=review-list] [data-testid=review-pick]");
  await picks.first().waitFor();
  const queued = await sup.page.locator("[data-testid=review-list] [data-testid=console-row]").evaluateAll((r) => r.map((x) => x.dataset.id));
  const two = queued.slice(0, 2);
  await picks.nth(0).check();
  await picks.nth(1).check();
  await sup.page.click("[data-testid=review-approve-picked]");
  await sup.page.waitForSelector("[data-testid=notice]:has-text('已审核通过 2 户')");
  const approved = (await api(`/api/reviews?period=${period}&status=approved`)).rows.map((r) => r.id);
  for (const done of two) {
    assert.ok(approved.includes(done), `${done} approved`);
    const acts = (await api(`/api/households/${done}/history`)).flatMap((h) => h.fields.filter(([k]) => k.includes("/rv/") && k.endsWith("/act")).map(([, v]) => v));
    assert.equal(acts.filter((a) => a === "approve").length, 1, `${done}: its own review step`);
  }
  step(`two visits approved at once (${two.join(", ")}), each with its own review step`);

  // 3. Export.
  await sup.page.click("[data-testid=nav-dashboard]");
  const [download] = await Promise.all([sup.page.waitForEvent("download"), sup.page.click("[data-testid=export-xlsx]")]);
  const file = `${out}/export-${period}.xlsx`;
  await download.saveAs(file);
  const book = XLSX.readFile(file);
  assert.deepEqual(book.SheetNames, ["户表", "成员", "就业", "指标", "监测帮扶", "帮扶措施"]);
  const households = XLSX.utils.sheet_to_json(book.Sheets["户表"]);
  const all = await api("/api/households");
  assert.equal(households.length, all.length, "one 户表 row per household in scope");
  assert.deepEqual(households.map((r) => String(r["户编码"])).sort(), all.map((r) => r.id).sort());
  const mine = households.find((r) => String(r["户编码"]) === id);
  assert.equal(mine["本月走访方式"], "入户");
  const members = XLSX.utils.sheet_to_json(book.Sheets["成员"]);
  assert.ok(members.length > households.length, "several members a household");
  assert.ok(members.every((m) => !m["身份证号"] || /\*/.test(String(m["身份证号"]))), "ID numbers masked");
  const total = XLSX.utils.sheet_to_json(book.Sheets["指标"]).find((r) => r["范围"] === "合计");
  const report = await api(`/api/indicators?period=${period}`);
  assert.equal(total["走访户数"], report.indicators.visited_in_person);
  step(`XLSX export parsed: ${households.length} households, ${members.length} members, IDs masked, 合计 visited = ${total["走访户数"]}`);

  // 4. Screenshots at both widths.
  await sup.page.screenshot({ path: `${out}/33-dashboard-desk.png`, fullPage: true });
  const small = await desk(browser, base, "sup01", 360);
  await small.page.waitForSelector("[data-testid=card-coverage]");
  await small.page.screenshot({ path: `${out}/34-dashboard-phone.png`, fullPage: true });
  console.log("browser console: 1 passed, 0 failed");
} finally {
  await browser.close();
}
