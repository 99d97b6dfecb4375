// The admin screens in headless Chromium, against a `serve --demo` server: create a
// supervisor, disable a cadre (whose login is then refused) and enable them again;
// import a roster with a bad row (every problem listed with its line, nothing
// imported), then the corrected one; assign the new household to a cadre, who then
// has it in their list. Usage: node admin.mjs BASE_URL ARTIFACTS_DIR
import { desk, launch } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const step = (s) => console.log(`  · ${s}`);
const loginAs = (login, password = "huhujian2026") => fetch(`${base}/api/login`, { method: "POST",
  headers: { "Content-Type": "application/json" }, body: JSON.stringify({ login, password, device_id: "admin-test" }) });

try {
  const { page } = await desk(browser, base, "admin");
  await page.click("[data-testid=nav-admin]");
  await page.waitForSelector("[data-testid=users-table]");

  const f = "[data-testid=user-create-form]";
  await page.fill(`${f} input[name=login]`, "sup09");
  await page.fill(`${f} input[name=name]`, "孙督导");
  await page.selectOption("[data-testid=user-create-role]", "supervisor");
  await page.selectOption("[data-testid=user-create-area] select", "township");
  await page.fill(`${f} input[name=area_name]`, "栋川镇");
  await page.fill(`${f} input[name=password]`, "a good password");
  await page.click("[data-testid=user-create]");
  await page.waitForSelector("[data-testid=user-row][data-login=sup09]");
  assert.equal((await loginAs("sup09", "a good password")).status, 200);
  step("created supervisor sup09 (township 栋川镇), who can log in");

  await page.click("[data-testid=user-row][data-login=cadre08] [data-testid=user-edit]");
  await page.click("[data-testid=user-toggle-disabled]");
  await page.waitForSelector("[data-testid=user-row][data-login=cadre08] [data-testid=user-disabled]");
  const refused = await loginAs("cadre08");
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error, "account_disabled");
  await page.click("[data-testid=user-toggle-disabled]");
  await page.waitForFunction(() => !document.querySelector("[data-testid=user-row][data-login=cadre08] [data-testid=user-disabled]"));
  assert.equal((await loginAs("cadre08")).status, 200);
  step("disabled cadre08 (login refused: account_disabled), enabled again (login works)");
  await page.screenshot({ path: `${out}/40-admin-users.png`, fullPage: true });

  await page.click("[data-testid=admin-tab-roster]");
  const csv = "户编码,安置点,网格,姓名,帮扶干部,劳动能力\nG1,光禄新村安置点,东片,罗一,cadre08,普通劳动力\nG1,光禄新村安置点,东片,罗二,nobody,超人\n";
  await page.setInputFiles("[data-testid=roster-file]", { name: "roster.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.waitForSelector("[data-testid=roster-file-info]");
  await page.click("[data-testid=roster-submit]");
  await page.waitForSelector("[data-testid=roster-errors]");
  const rows = await page.locator("[data-testid=roster-error-row]").allTextContents();
  assert.equal(rows.length, 2, rows.join(" | "));
  assert.ok(rows.every((r) => r.trim().startsWith("3")), `both problems are on line 3: ${rows.join(" | ")}`);
  assert.ok(rows.some((r) => r.includes("nobody")) && rows.some((r) => r.includes("超人")));
  const adminToken = (await (await loginAs("admin")).json()).token;
  const all = await (await fetch(`${base}/api/households`, { headers: { Authorization: `Bearer ${adminToken}` } })).json();
  assert.ok(!all.some((h) => h.id === "G1"), "nothing of the refused roster was imported");
  await page.screenshot({ path: `${out}/41-admin-roster-errors.png`, fullPage: true });
  step(`bad roster refused with ${rows.length} problems on line 3, nothing imported`);

  const good = csv.replace("nobody", "cadre08").replace("超人", "弱劳动力");
  await page.setInputFiles("[data-testid=roster-file]", { name: "roster.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await page.waitForSelector("[data-testid=roster-file-info]");
  await page.click("[data-testid=roster-submit]");
  await page.waitForSelector("[data-testid=roster-preview]");
  const before = await (await fetch(`${base}/api/households`, { headers: { Authorization: `Bearer ${adminToken}` } })).json();
  assert.ok(!before.some((h) => h.id === "G1"), "a preview imports nothing");
  await page.screenshot({ path: `${out}/42-admin-roster-preview.png`, fullPage: true });
  await page.click("[data-testid=roster-confirm]");
  await page.waitForSelector("[data-testid=roster-report]");
  assert.match(await page.textContent("[data-testid=roster-report]"), /1/);
  step("corrected roster previewed (nothing imported yet), confirmed: household G1 with 2 members");

  await page.click("[data-testid=admin-tab-assign]");
  await page.waitForSelector("[data-testid=assign-site] option:nth-child(2)", { state: "attached" });
  await page.selectOption("[data-testid=assign-site]", "光禄新村安置点");
  await page.waitForSelector("[data-testid=assign-row][data-id=G1]");
  await page.check("[data-testid=assign-row][data-id=G1] [data-testid=assign-tick]");
  await page.selectOption("[data-testid=assign-cadre]", "cadre07");
  await page.click("[data-testid=assign-add]");
  await page.waitForFunction(() => document.querySelector("[data-testid=assign-row][data-id=G1] [data-testid=assign-cadres]")?.textContent.includes("cadre07"));
  const token = (await (await loginAs("cadre07")).json()).token;
  const list = await (await fetch(`${base}/api/households`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.ok(list.some((h) => h.id === "G1"), "cadre07 now has G1");
  step("assigned G1 to cadre07, whose household list now has it");
  console.log("browser admin: 1 passed, 0 failed");
} finally {
  await browser.close();
}
