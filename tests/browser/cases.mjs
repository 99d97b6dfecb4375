// 监测帮扶 end to end in headless Chromium, against a `serve --demo` server: a cadre
// raises a clue from a visit's risk signals (one tap); the supervisor finds it first in
// 监测帮扶, includes the household as 边缘易致贫户 and adds a 公益性岗位 measure; elimination
// is refused with its reasons; the cadre's phone shows the case and the measure after
// its sync. Usage: node cases.mjs BASE_URL ARTIFACTS_DIR
import { asSupervisor, desk, launch, period, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const step = (s) => console.log(`  · ${s}`);

try {
  // 1. The cadre: a phone visit with an illness, reported as a clue with one tap.
  const { page } = await phone(browser, base, "cadre02");
  const rows = await asSupervisor(base, `/api/flagged?period=${period()}&kind=not_visited&cadre=cadre02`);
  const cases = await asSupervisor(base, "/api/cases");
  const taken = new Set(cases.rows.map((r) => r.household.id));
  const id = rows.map((r) => r.id).find((x) => !taken.has(x));
  assert.ok(id, "a household of cadre02 without a case");
  await page.click(`[data-testid=household-row][data-id="${id}"]`);
  await page.waitForSelector("[data-testid=case-box]");
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-phone]");
  await toStep(page, "risks");
  let taps = 0;
  await page.click("[data-testid=risk-illness]");
  taps++;
  await page.click("[data-testid=raise-clue]");
  taps++;
  await page.fill("[data-testid=risk-note]", "户主住院，务工中断");
  await page.screenshot({ path: `${out}/cases-01-raise.png`, fullPage: true });
  await toStep(page, "review");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=household-head]");
  await page.waitForFunction(() => document.querySelector("[data-testid=case-status]")?.textContent.includes("待核实"));
  let queue;
  for (let i = 0; i < 60; i++) {
    queue = await asSupervisor(base, "/api/cases");
    if (queue.rows.some((r) => r.household.id === id)) break;
    await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(500);
  }
  const row = queue.rows.find((r) => r.household.id === id);
  assert.equal(row?.status, "clue", JSON.stringify(queue.rows.slice(0, 3)));
  assert.match(row.latest, /因病.*户主住院/);
  step(`phone: a visit's illness reported as a clue of ${id} with ${taps} taps (risk, 上报); the server has it`);

  // 2. The supervisor: the queue, the decision, the measure.
  const { page: sup } = await desk(browser, base, "sup01");
  await sup.click("[data-testid=nav-cases]");
  await sup.waitForSelector("[data-testid=case-row]");
  await sup.screenshot({ path: `${out}/cases-02-queue.png`, fullPage: true });
  await sup.click(`[data-testid=case-row][data-id="${id}"]`);
  await sup.waitForSelector("[data-testid=case-actions]");
  await sup.selectOption("[data-testid=case-kind]", "edge");
  await sup.fill("[data-testid=case-note]", "入户核实属实，纳入边缘易致贫户");
  await sup.click("[data-testid=case-act-include]");
  await sup.waitForFunction(() => document.querySelector("[data-testid=case-status]")?.textContent.includes("监测帮扶中"));
  await sup.click("[data-testid=measure-open]");
  await sup.selectOption("[data-testid=measure-kind]", "welfare_post");
  await sup.fill("[data-testid=measure-amount]", "800");
  await sup.fill("[data-testid=measure-provider]", "镇人社所");
  await sup.fill("[data-testid=measure-note]", "安置点保洁员");
  await sup.click("[data-testid=measure-save]");
  await sup.waitForSelector("[data-testid=measure]");
  assert.match(await sup.textContent("[data-testid=measures]"), /公益性岗位.*800/);
  // Eliminating now is refused, saying why.
  await sup.fill("[data-testid=case-note]", "收入已稳定");
  await sup.click("[data-testid=case-act-eliminate]");
  await sup.waitForSelector("[data-testid=case-said]");
  assert.match(await sup.textContent("[data-testid=case-said]"), /暂不能消除风险/);
  await sup.evaluate(() => window.scrollTo(0, 0));
  await sup.screenshot({ path: `${out}/cases-03-decided.png`, fullPage: true });
  step("console: first in 监测帮扶, included as 边缘易致贫户, a 公益性岗位 of 800 added; elimination refused with its reasons");

  // 3. The cadre's phone after its sync.
  for (let i = 0; i < 60; i++) {
    await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(500);
    if ((await page.textContent("[data-testid=case-status]")).includes("监测帮扶中")) break;
  }
  assert.match(await page.textContent("[data-testid=case-status]"), /监测帮扶中/);
  assert.match(await page.textContent("[data-testid=measures]"), /公益性岗位/);
  assert.match(await page.textContent("[data-testid=flags]"), /边缘易致贫户/);
  await page.screenshot({ path: `${out}/cases-04-phone.png`, fullPage: true });
  step("phone: after its sync the household shows 监测帮扶中 · 边缘易致贫户 and the 公益性岗位");

  // 4. 明白卡, printed from the phone (A5) and the console (A4).
  await page.click("[data-testid=open-card]");
  await page.waitForSelector("[data-testid=card]");
  assert.match(await page.textContent("[data-testid=card-measures]"), /公益性岗位/);
  assert.match(await page.textContent("[data-testid=card-income]"), /人均纯收入/);
  await page.emulateMedia({ media: "print" });
  await page.screenshot({ path: `${out}/cases-05-card-print.png`, fullPage: true });
  await page.pdf({ path: `${out}/card-a5.pdf`, format: "A5", printBackground: true });
  await page.emulateMedia({ media: "screen" });
  await sup.click("[data-testid=open-card]");
  await sup.waitForSelector("[data-testid=card]");
  assert.match(await sup.textContent("[data-testid=card]"), /张华/, "the household's cadres");
  await sup.pdf({ path: `${out}/card-a4.pdf`, format: "A4", printBackground: true });
  step("明白卡: members, work, 12 months of income, the 公益性岗位, cadres and signature lines; PDFs in A5 (phone) and A4 (console)");

  // 5. A department's list: one bad row refuses it, the corrected list raises clues.
  await sup.goBack().catch(() => {});
  await sup.goto(`${base}/console/#/cases`);
  await sup.waitForSelector("[data-testid=case-row]");
  const more = (await asSupervisor(base, `/api/flagged?period=${period()}&kind=not_visited&cadre=cadre01`))
    .map((r) => r.id).filter((x) => x !== id).slice(0, 2);
  const file = (rows) => ({ name: "民政局比对名单.csv", mimeType: "text/csv", buffer: Buffer.from(`户编码,原因,部门\n${rows}`) });
  await sup.click(".clue-import summary");
  await sup.setInputFiles("[data-testid=clues-file]", file(`${more[0]},低保边缘户,县民政局\n9999999999999,大病,县医保局\n`));
  await sup.waitForSelector("[data-testid=clues-said].error");
  assert.match(await sup.textContent("[data-testid=clues-said]"), /第 3.*不在您负责的范围内或不存在/);
  await sup.setInputFiles("[data-testid=clues-file]", file(`${more[0]},低保边缘户,县民政局\n${more[1]},大病医疗支出较大,县医保局\n`));
  await sup.waitForSelector("[data-testid=clues-said].admin-ok");
  await sup.waitForSelector(`[data-testid=case-row][data-id="${more[1]}"]`);
  await sup.screenshot({ path: `${out}/cases-06-department.png`, fullPage: true });
  step(`console: a department's list with an unknown household refused (row 3 named), then ${more.join(", ")} raised as clues`);
  console.log("cases: passed");
} finally {
  await browser.close();
}
