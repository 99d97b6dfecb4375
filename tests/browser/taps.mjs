// Taps and typed fields of three scripted monthly visits (issue 17), for `cargo xtask
// bench` (bench.mjs part `taps`), on a 360-pixel touch phone as cadre04:
//   1. nothing changed since last month;
//   2. two workers, one of whom changed job and income (channel, employer, income);
//   3. visit 2's script on another household, started offline and the page reloaded
//      at step 3 (收入), then finished: the draft must survive, and what the server then
//      holds must be what the uninterrupted script gives (checked field by field
//      against last month's answers, as for visit 2).
// A tap is a click or a choice in a select; a typed field is one text or number input.
import { asSupervisor, period as thisMonth, phone, toStep } from "./lib.mjs";

const TAPS_SAME = 6, TAPS_CHANGED = 15, TYPED_CHANGED = 3;

/// Runs the three visits and pushes their rows; `log` reports progress.
export async function visitTaps(browser, base, rows, log) {
  const period = thisMonth();
  const { context, page } = await phone(browser, base, "cadre04");
  let taps = 0, typed = 0;
  const tap = async (selector) => { taps++; await page.click(selector); };
  const choose = async (selector, value) => { taps++; await page.selectOption(selector, value); };
  const type = async (selector, text) => { typed++; await page.fill(selector, text); };

  // Unvisited households whose last visit recorded two or more workers.
  const ids = await page.locator("[data-testid=household-row]").evaluateAll((r) => r.map((x) => x.dataset.id));
  const candidates = [];
  for (const id of ids) {
    const d = await asSupervisor(base, `/api/households/${id}`);
    if (d.household.visits[period]) continue;
    const last = Object.entries(d.household.visits).filter(([p, v]) => p < period && ["in_person", "phone"].includes(v.mode)).at(-1)?.[1];
    const workers = Object.entries(last?.employment ?? {}).filter(([, e]) => e.status === "employed");
    if (workers.length >= 2) candidates.push({ id, last, workers });
    if (candidates.length === 3) break;
  }
  if (candidates.length < 3) throw new Error(`cadre04 has ${candidates.length} unvisited households with two workers last month`);
  const onServer = async (id) => {
    for (let i = 0; i < 120; i++) {
      const v = (await asSupervisor(base, `/api/households/${id}`)).household.visits[period];
      if (v?.mode) return v;
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
    throw new Error(`the visit to ${id} did not reach the server`);
  };
  // What visit 2's script gives: last month's answers, one worker's job changed.
  const change = { channel: "in_county", employer: "县城物流园", monthly_income: 3100 };
  const differences = (c, saved, changedId) => {
    const out = [];
    const same = (what, a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null) || out.push(`${what}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`);
    for (const [mid, job] of Object.entries(c.last.employment)) {
      if (!job.status) continue;
      const want = mid === changedId ? { ...job, ...change } : job;
      for (const f of ["status", "channel", "employer", "place", "monthly_income"]) same(`${mid}.${f}`, saved.employment[mid]?.[f], want[f]);
    }
    const wages = Object.values(saved.employment).filter((e) => e.status === "employed").reduce((s, e) => s + (e.monthly_income ?? 0), 0);
    same("income.wage", saved.income.wage, wages);
    for (const k of ["operating", "property", "transfer", "costs"]) same(`income.${k}`, saved.income[k], c.last.income[k]);
    same("guarantees", saved.guarantees, c.last.guarantees);
    same("risks", [...saved.risks].sort(), [...c.last.risks].sort());
    same("note", saved.note, "");
    return out;
  };
  const changeJob = async (mid) => {
    await choose(`[data-testid=channel-${mid}]`, change.channel);
    await type(`[data-testid=employer-${mid}]`, change.employer);
    await type(`[data-testid=income-${mid}]`, String(change.monthly_income));
  };

  // 1. Nothing changed.
  const [one, two, three] = candidates;
  await tap(`[data-testid=household-row][data-id="${one.id}"]`);
  await tap("[data-testid=record-visit]");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=same-all]");
  await tap("[data-testid=save-visit-top]");
  await page.waitForSelector("[data-testid=household-head]");
  await onServer(one.id);
  rows.push({ figure: "visit, nothing changed since last month: taps, typed fields", value: `${taps} taps, ${typed} typed`,
    target: `≤ ${TAPS_SAME} taps, 0 typed`, met: taps <= TAPS_SAME && typed === 0, floor: null,
    detail: `cadre04, household ${one.id}, from the household list: the row, 记录本月走访, 入户, 全部与上月相同, 保存走访 (tests/browser/taps.mjs)` });
  log(`nothing changed: ${taps} taps, ${typed} typed`);

  // 2. One of two workers changed job and income.
  await page.click("button.back");
  taps = 0; typed = 0;
  const [changedId] = two.workers[0];
  await tap(`[data-testid=household-row][data-id="${two.id}"]`);
  await tap("[data-testid=record-visit]");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=same-all]");
  await tap("[data-testid=step-work]");
  await changeJob(changedId);
  await tap("[data-testid=step-start]");
  await tap("[data-testid=save-visit-top]");
  await page.waitForSelector("[data-testid=household-head]");
  const second = differences(two, await onServer(two.id), changedId);
  if (second.length) throw new Error(`visit 2 is not what its script gives: ${second.join("; ")}`);
  rows.push({ figure: "visit, one of two workers changed job and income: taps, typed fields", value: `${taps} taps, ${typed} typed`,
    target: `≤ ${TAPS_CHANGED} taps, ≤ ${TYPED_CHANGED} typed`, met: taps <= TAPS_CHANGED && typed <= TYPED_CHANGED, floor: null,
    detail: `cadre04, household ${two.id}: the row, 记录本月走访, 入户, 全部与上月相同, the 就业 step, the worker's channel (a select), employer and income (typed), ` +
      `the 方式 step, 保存走访; the server then holds last month's answers with that worker's new job and wages summed` });
  log(`one worker changed: ${taps} taps, ${typed} typed`);

  // 3. The same, offline, reloaded at step 3.
  await page.click("button.back");
  taps = 0; typed = 0;
  const [changed3] = three.workers[0];
  await context.setOffline(true);
  await tap(`[data-testid=household-row][data-id="${three.id}"]`);
  await tap("[data-testid=record-visit]");
  await tap("[data-testid=mode-in_person]");
  await tap("[data-testid=same-all]");
  await tap("[data-testid=step-next]");
  await changeJob(changed3);
  await tap("[data-testid=step-next]");
  await page.waitForSelector("[data-testid=visit-step-income]:not(.hidden)");
  await page.waitForTimeout(300);
  await page.reload();
  await page.waitForSelector("[data-testid=visit-step-income]:not(.hidden)", { timeout: 30_000 });
  const kept = await page.inputValue("[data-testid=income-wage]");
  await tap("[data-testid=step-start]");
  await tap("[data-testid=save-visit-top]");
  await page.waitForSelector("[data-testid=household-head]");
  await context.setOffline(false);
  const third = differences(three, await onServer(three.id), changed3);
  rows.push({ figure: "visit 2's script offline, reloaded at step 3: the draft survives, the result is the same", value: third.length ? `differs: ${third.join("; ")}` : `identical (${taps} taps, ${typed} typed)`,
    target: "identical", met: third.length === 0, floor: null,
    detail: `cadre04, household ${three.id}, offline; the page reloaded on the 收入 step (wages ${kept} after the reload); saved from the 方式 step; ` +
      `the server's visit compared field by field with last month's answers and the changed job, as for visit 2` });
  log(`offline, reloaded at step 3: ${third.length ? "differs" : "identical"} (${taps} taps, ${typed} typed)`);
  await context.close();
}
