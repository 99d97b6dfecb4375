// One phone, two cadres (issue 17): the phone is one person's at a time, and nothing is
// stranded. cadre01 records a visit offline to a household both cadres look after, and
// leaves a second visit half done (a draft); offline, 退出 warns and cadre01 leaves the
// work on the phone. cadre02 logs in on the same phone: the list is exactly cadre02's
// households, the shared household shows no visit this month, no draft, no refusal and
// nothing unsynced. cadre02 logs out; cadre01 logs in again: the draft is still there,
// and the visit syncs to the server.
// Usage: node shared_phone.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { launch, period as thisMonth, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const period = thisMonth();
const step = (name) => console.log(`  · ${name}`);

/// `path` as `login` through the API (JSON).
async function as(login, path) {
  const s = await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login, password: "huhujian2026", device_id: `browser-tests-${login}` }) }).then((r) => r.json());
  return fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${s.token}` } }).then((r) => r.json());
}

try {
  const mine = new Set((await as("cadre01", "/api/households")).map((h) => h.id));
  const theirs = new Set((await as("cadre02", "/api/households")).map((h) => h.id));
  const visitedNow = async (id) => (await as("sup01", `/api/households/${id}`)).household.visits[period]?.mode;
  const both = [];
  for (const id of mine) if (theirs.has(id) && !(await visitedNow(id))) both.push(id);
  assert.ok(both.length >= 1, "a household both cadres look after, not visited this month");
  const onlyMine = [...mine].filter((id) => !theirs.has(id));
  assert.ok(onlyMine.length >= 1, "a household only cadre01 looks after");
  const [shared] = both;
  const drafted = onlyMine.at(-1);

  const { context, page } = await phone(browser, base, "cadre01");
  const shot = (name) => page.screenshot({ path: `${out}/shared-phone-${name}.png`, fullPage: true });
  await context.setOffline(true);
  await page.click(`[data-testid=household-row][data-id="${shared}"]`);
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-phone]");
  await toStep(page, "review");
  await page.fill("[data-testid=note]", "cadre01 离线记录");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=household-head]");
  await page.click("button.back");
  await page.click(`[data-testid=household-row][data-id="${drafted}"]`);
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  await toStep(page, "review");
  await page.fill("[data-testid=note]", "还没走访完");
  await page.waitForTimeout(300);
  await page.click("button:has-text('退出')");
  await page.waitForSelector("[data-testid=logout-warning]");
  assert.match(await page.textContent("[data-testid=logout-warning]"), /1 户的记录未同步/);
  await shot("01-logout-warning");
  await page.click("[data-testid=logout-anyway]");
  await page.waitForSelector("input[name=login]");
  step(`cadre01: a visit to ${shared} saved offline and a draft of ${drafted}; logged out offline, the work left on the phone`);

  await context.setOffline(false);
  await page.fill("input[name=login]", "cadre02");
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("上次同步"), null, { timeout: 60_000 });
  const listed = new Set(await page.locator("[data-testid=household-row]").evaluateAll((r) => r.map((x) => x.dataset.id)));
  assert.deepEqual([...listed].sort(), [...theirs].sort(), "cadre02 sees exactly cadre02's households");
  assert.equal(await page.locator("[data-testid=sync-errors]").count(), 0, "no refusal lines");
  assert.equal(await page.locator("[data-testid=draft-badge]").count(), 0, "no drafts");
  assert.match(await page.textContent("[data-testid=sync-status]"), /待同步 0/);
  await page.click(`[data-testid=household-row][data-id="${shared}"]`);
  assert.equal(await page.locator("[data-testid=visit-history] li").filter({ hasText: period }).count(), 0,
    "cadre01's unsynced visit is not on cadre02's copy");
  await shot("02-cadre02");
  assert.equal(await visitedNow(shared), undefined, "nor on the server yet");
  step(`cadre02 on the same phone: ${listed.size} households (exactly cadre02's), no refusals, no draft, no visit of cadre01`);
  await page.click("button:has-text('退出')");
  await page.waitForSelector("input[name=login]");

  await page.fill("input[name=login]", "cadre01");
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForSelector(`[data-testid=household-row][data-id="${drafted}"] [data-testid=draft-badge]`, { timeout: 60_000 });
  let mode;
  for (let i = 0; i < 60 && !mode; i++) {
    mode = await visitedNow(shared);
    if (!mode) await page.waitForTimeout(500);
  }
  assert.equal(mode, "phone", "cadre01's visit reached the server after cadre01 logged in again");
  await shot("03-cadre01-again");
  step("cadre01 again: the draft is there and the visit synced");
  console.log("shared phone: passed");
} finally {
  await browser.close();
}
