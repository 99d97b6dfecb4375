// Members as a cadre keeps them (issue 17), on a 360-pixel phone, checking what the
// server then holds:
//   1. two labour-force members edited: one's labour capacity becomes 丧失劳动力, the
//      other is now in school; a mistyped ID number shows its check-digit error first;
//      after the sync the household's labour force, and the county's for this period,
//      are two fewer;
//   2. a birth (reason and date) adds a member, present this period;
//   3. a move-out asks for confirmation, then carries its reason and date;
//   4. a death recorded by mistake is undone: the member is as before.
// Usage: node member.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { asSupervisor, launch, period as thisMonth, phone } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const period = thisMonth();
const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
const step = (name) => console.log(`  · ${name}`);
const age = (birth) => (Date.parse(today) - Date.parse(birth)) / (365.25 * 864e5);
try {
  const { page } = await phone(browser, base, "cadre01");
  const shot = (name) => page.screenshot({ path: `${out}/member-${name}.png`, fullPage: true });
  const detail = (id) => asSupervisor(base, `/api/households/${id}`);
  const until = async (what, ok) => {
    for (let i = 0; i < 60; i++) {
      if (await ok()) return;
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
    await shot("timeout");
    throw new Error(`timed out: ${what}`);
  };
  // A household with three or more adults in the labour force and someone else present.
  const ids = await page.locator("[data-testid=household-row]").evaluateAll((r) => r.map((x) => x.dataset.id));
  let id, workers;
  for (const candidate of ids) {
    const h = (await detail(candidate)).household;
    const w = Object.entries(h.members).filter(([, m]) => (m.status ?? "present") === "present" && !m.in_school
      && ["full", "weak"].includes(m.labour) && m.birth_date && age(m.birth_date) >= 18 && age(m.birth_date) < 55);
    if (w.length >= 3) { id = candidate; workers = w; break; }
  }
  assert.ok(id, "a household with three adults in the labour force");
  const [[a], [b], [c]] = workers;
  const lf0 = (await asSupervisor(base, `/api/indicators?period=${period}`)).indicators.labour_force;

  // 1. Labour capacity and school.
  await page.click(`[data-testid=household-row][data-id="${id}"]`);
  await page.click(`[data-testid=edit-member-${a}]`);
  assert.equal(await page.evaluate(() => location.hash), `#/h/${id}/m/${a}`, "the member has its address");
  const idNo = await page.inputValue("[data-testid=member-id-no]");
  const wrong = idNo.slice(0, 16) + String((Number(idNo[16]) + 1) % 10) + idNo[17];
  await page.fill("[data-testid=member-id-no]", wrong);
  assert.match(await page.textContent("[data-testid=problem]"), /校验位错误|出生日期|格式/);
  await page.fill("[data-testid=member-id-no]", idNo);
  assert.equal(await page.locator("[data-testid=problem].error").count(), 0, "fixed, the error goes");
  await page.selectOption("[data-testid=member-labour]", "lost");
  await shot("01-edit");
  await page.click("[data-testid=member-save]");
  await page.waitForSelector("[data-testid=household-head]");
  await page.click(`[data-testid=edit-member-${b}]`);
  await page.check("[data-testid=member-school]");
  await page.click("[data-testid=member-save]");
  await page.waitForSelector("[data-testid=household-head]");
  await until("both edits on the server", async () => {
    const m = (await detail(id)).household.members;
    return m[a].labour === "lost" && m[b].in_school === true;
  });
  const lf1 = (await asSupervisor(base, `/api/indicators?period=${period}`)).indicators.labour_force;
  assert.equal(lf1, lf0 - 2, `the county's labour force this period: ${lf0} → ${lf1}`);
  step(`labour capacity and school edited; the ID check digit caught; county labour force ${lf0} → ${lf1}`);

  // 2. A birth.
  await page.click("[data-testid=add-member]");
  await page.fill("[data-testid=member-name]", "新生儿");
  await page.fill("[data-testid=member-birth]", today);
  await page.selectOption("[data-testid=member-relation]", { index: 3 });
  await page.selectOption("[data-testid=member-labour]", "none");
  await page.selectOption("[data-testid=member-joined]", "birth");
  await page.fill("[data-testid=member-joined-on]", today);
  await shot("02-birth");
  await page.click("[data-testid=member-save]");
  await page.waitForSelector("[data-testid=household-head]");
  let born;
  await until("the birth on the server", async () => {
    born = Object.values((await detail(id)).household.members).find((m) => m.name === "新生儿");
    return born;
  });
  assert.equal(born.change, "birth");
  assert.equal(born.changed_on, today);
  assert.equal(born.status ?? "present", "present");
  step("a birth added with its reason and date");

  // 3. A move-out, confirmed.
  await page.click(`[data-testid=edit-member-${c}]`);
  await page.click("[data-testid=change-moved_out]");
  assert.equal(await page.locator("[data-testid=change-confirm]").count(), 1, "a move asks for confirmation");
  assert.match(await page.textContent("[data-testid=member-status]"), /在户/, "nothing written before 确定");
  await page.fill("[data-testid=change-date]", `${period}-01`);
  await shot("03-move-confirm");
  await page.click("[data-testid=change-confirm]");
  await page.waitForSelector("[data-testid=change-recorded]");
  assert.match(await page.textContent("[data-testid=member-status]"), /已迁出/);
  await page.click("button.back");
  await page.waitForSelector("[data-testid=household-head]");

  // 4. A death recorded by mistake, undone.
  await page.click(`[data-testid=edit-member-${a}]`);
  await page.click("[data-testid=change-deceased]");
  await page.click("[data-testid=change-confirm]");
  await page.waitForSelector("[data-testid=change-recorded]");
  await shot("04-recorded");
  await page.click("[data-testid=change-undo]");
  await page.waitForFunction(() => /在户/.test(document.querySelector("[data-testid=member-status]")?.textContent ?? ""));
  await until("the move and the undone death on the server", async () => {
    const m = (await detail(id)).household.members;
    return m[c].status === "moved_out" && m[a].status !== "deceased";
  });
  const m = (await detail(id)).household.members;
  assert.equal(m[c].change, "moved_out");
  assert.equal(m[c].changed_on, `${period}-01`);
  assert.equal(m[a].change, null, "the undone death left no reason");
  assert.equal(m[a].changed_on, null);
  step(`moved out with reason and date (${m[c].changed_on}); a death recorded by mistake undone`);
  console.log("member: passed");
} finally {
  await browser.close();
}
