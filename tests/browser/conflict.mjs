// A conflict on the phone: the demo's household 5323250101008 holds two different wage
// figures for last month, entered offline by two cadres. The cadre sees both, with who
// entered each and when, picks one; the conflict disappears on the phone and, after
// the automatic sync, from the supervisor's review queue. Also: the interface switches
// to English. Usage: node conflict.mjs BASE_URL ARTIFACTS_DIR (server with --demo).
import { asSupervisor, launch, phone } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
const id = "5323250101008";
mkdirSync(out, { recursive: true });
const browser = await launch();
const supervisorConflicts = async () => (await asSupervisor(base, "/api/conflicts")).filter((c) => c.household_id === id);
try {
  assert.equal((await supervisorConflicts()).length, 1, "the demo starts with the conflict");
  const { page } = await phone(browser, base, "cadre01");
  await page.click("button.chip:has-text('有冲突')");
  await page.click(`[data-testid=household-row][data-id="${id}"]`);
  const conflict = page.locator("[data-testid=conflict]");
  await conflict.waitFor();
  const choices = conflict.locator("[data-testid=conflict-choice]");
  assert.equal(await choices.count(), 2);
  const text = await conflict.textContent();
  assert.match(text, /5200/);
  assert.match(text, /4800/);
  await page.screenshot({ path: `${out}/11-conflict.png`, fullPage: true });
  assert.match(text, /4800 元/, "amounts show with their unit");
  await choices.filter({ hasText: "4800" }).click();
  assert.equal(await conflict.count(), 1, "one tap only picks: nothing is settled before 确定");
  await page.click("[data-testid=conflict-confirm]");
  await page.waitForFunction(() => !document.querySelector("[data-testid=conflict]"));
  let cleared = false;
  for (let i = 0; i < 60 && !cleared; i++) {
    cleared = (await supervisorConflicts()).length === 0;
    if (!cleared) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(cleared, "the resolution reached the server and the review queue");
  console.log("  · conflict shown with both values and their authors, resolved on the phone, gone from the queue");

  await page.click("header button:has-text('English')");
  await page.waitForSelector("text=Record this month's visit");
  await page.screenshot({ path: `${out}/12-household-english.png`, fullPage: true });
  console.log("  · switched to English");
  console.log("browser conflict: 1 passed, 0 failed");
} finally {
  await browser.close();
}
