// 走访佐证 (issue 20) on a 360-pixel touch phone, then in the console:
//   1. offline, a visit gets two photos (a 4000×3000 camera JPEG stored sideways, with
//      Exif orientation 6 and a maker note, and a PNG from the gallery), the household
//      head's signature drawn on the pad, and a location fix; it is saved, the page is
//      reloaded (still offline): the visit and its thumbnails are there;
//   2. back online: the document syncs, then the pictures. The first photo's upload is
//      cut once mid-way (the request aborted) and resumes at the next sync, re-sending at
//      most one piece; the thumbnail's first upload is corrupted on the way (hash
//      mismatch), refused, and sent again;
//   3. what the server keeps: JPEG, at most 150 KB, long edge 1,280 px, portrait (the
//      orientation applied), no Exif left; the signature a PNG;
//   4. the console shows the thumbnails (a tap: the full photo), 户主已签字确认 and the
//      location; its coverage counts the signed visit, and the list of households
//      visited but not signed leaves it out; another cadre, without the household in
//      scope, gets 403 for the photo even with its hash.
// Usage: node evidence.mjs BASE_URL ARTIFACTS_DIR (server started with --demo).
import { desk, launch, period as thisMonth, phone, toStep } from "./lib.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.argv[2];
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const browser = await launch();
const period = thisMonth();
const step = (name) => console.log(`  · ${name}`);
const PIECE = 32 * 1024;

/** The size of a JPEG or PNG from its header: [width, height] as stored. */
function sizeOf(buf) {
  if (buf[0] === 0x89) return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  let i = 2;
  while (i < buf.length) {
    const marker = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
    }
    i += 2 + len;
  }
  return null;
}

/** `jpeg` with an Exif APP1 saying orientation 6 (stored turned) and a maker note. */
function withExif(jpeg) {
  const make = Buffer.from("HHJ-SECRET-CAMERA\0");
  const tiff = Buffer.alloc(8 + 2 + 2 * 12 + 4);
  tiff.write("MM", 0); tiff.writeUInt16BE(42, 2); tiff.writeUInt32BE(8, 4); tiff.writeUInt16BE(2, 8);
  // 0x010F Make (ASCII), its text after the IFD; 0x0112 Orientation = 6.
  tiff.writeUInt16BE(0x010f, 10); tiff.writeUInt16BE(2, 12); tiff.writeUInt32BE(make.length, 14); tiff.writeUInt32BE(tiff.length, 18);
  tiff.writeUInt16BE(0x0112, 22); tiff.writeUInt16BE(3, 24); tiff.writeUInt32BE(1, 26); tiff.writeUInt16BE(6, 30);
  const body = Buffer.concat([Buffer.from("Exif\0\0"), tiff, make]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

try {
  // Two pictures made by the browser itself: a busy scene as a camera JPEG, and a
  // document as a PNG.
  const maker = await browser.newPage({ viewport: { width: 2000, height: 1500 }, deviceScaleFactor: 2 });
  await maker.setContent(`<canvas id=c width=2000 height=1500></canvas><script>
    const c = document.getElementById('c').getContext('2d');
    const g = c.createLinearGradient(0, 0, 2000, 1500); g.addColorStop(0, '#3a6'); g.addColorStop(1, '#fc4');
    c.fillStyle = g; c.fillRect(0, 0, 2000, 1500);
    for (let i = 0; i < 400; i++) { c.fillStyle = 'hsl(' + (i * 37 % 360) + ',60%,' + (30 + i % 40) + '%)';
      c.beginPath(); c.arc((i * 997) % 2000, (i * 613) % 1500, 10 + i % 60, 0, 7); c.fill(); }
    c.font = '120px sans-serif'; c.fillStyle = '#123'; c.fillText('户户见 新居 2026', 200, 750);
  </script><style>body{margin:0}</style>`);
  const camera = withExif(await maker.screenshot({ type: "jpeg", quality: 92 }));
  assert.deepEqual(sizeOf(camera), [4000, 3000]);
  await maker.setViewportSize({ width: 1200, height: 800 });
  await maker.setContent(`<div style="font:40px serif;padding:40px;background:#fff">务工合同<br>甲方：某某建筑公司<br>乙方：……<br>月工资 4,500 元</div>`);
  const documentPng = await maker.screenshot({ type: "png" });
  await maker.close();
  step(`made a ${(camera.length / 1024).toFixed(0)} KB camera JPEG (4000×3000, Exif orientation 6) and a ${(documentPng.length / 1024).toFixed(0)} KB PNG`);

  // The cadre's phone: 360 px, touch, location allowed.
  const { context, page } = await phone(browser, base, "cadre01", { hasTouch: true, isMobile: true }, async (c) => {
    await c.grantPermissions(["geolocation"], { origin: base });
    await c.setGeolocation({ latitude: 26.583012, longitude: 104.83211, accuracy: 12 });
  });
  const shot = (name) => page.screenshot({ path: `${out}/evidence-${name}.png`, fullPage: true });

  // 1. Offline: a visit with two photos, a signature and a location.
  await page.click("button.chip:has-text('本月未走访')");
  const row = page.locator("[data-testid=household-row]").first();
  const id = await row.getAttribute("data-id");
  await context.setOffline(true);
  await row.click();
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  if (await page.locator("[data-testid=same-all]").count()) await page.click("[data-testid=same-all]");
  await toStep(page, "review");
  await page.waitForSelector("[data-testid=evidence]");
  await page.click("[data-testid=photo-kind-household]");
  await page.setInputFiles("[data-testid=photo-input]", { name: "IMG_0001.jpg", mimeType: "image/jpeg", buffer: camera });
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=photo-item]").length === 1, null, { timeout: 30_000 });
  await page.click("[data-testid=photo-kind-document]");
  await page.setInputFiles("[data-testid=photo-input]", { name: "contract.png", mimeType: "image/png", buffer: documentPng });
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=photo-item]").length === 2, null, { timeout: 30_000 });
  const first = page.locator("[data-testid=photo-item]:has-text('户况照片') [data-testid=photo-caption]");
  await first.fill("新居门口");
  await first.dispatchEvent("change");
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=photo-thumb]")].every((i) => i.naturalWidth > 0));
  step("two photos added offline, thumbnails shown");
  await page.click("[data-testid=sign-open]");
  await page.waitForSelector("[data-testid=sign-summary] li");
  await page.locator("[data-testid=sign-canvas]").evaluate((c) => c.scrollIntoView({ block: "center" }));
  const pad = await page.locator("[data-testid=sign-canvas]").boundingBox();
  await page.mouse.move(pad.x + 30, pad.y + pad.height * 0.6);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) await page.mouse.move(pad.x + 30 + i * 12, pad.y + pad.height * (0.6 - 0.3 * Math.sin(i / 3)));
  await page.mouse.up();
  await shot("01-signing");
  await page.click("[data-testid=sign-confirm]");
  await page.waitForSelector("[data-testid=signed]");
  await page.click("[data-testid=location-take]");
  await page.waitForSelector("[data-testid=location], [data-testid=notice]", { timeout: 30_000 });
  if (await page.locator("[data-testid=notice]").count()) throw new Error(`no location: ${await page.textContent("[data-testid=notice]")}`);
  assert.match(await page.textContent("[data-testid=location]"), /26\.583012, 104\.832110 \(±12 m\)/);
  await shot("02-evidence");
  step("signed on the pad; location 26.583012, 104.832110 ±12 m");
  await page.click("[data-testid=save-visit]");
  await page.waitForSelector("[data-testid=notice]");
  await page.reload();
  await page.waitForSelector("[data-testid=visit-evidence]", { timeout: 30_000 });
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=visit-evidence] img")].length >= 3 &&
    [...document.querySelectorAll("[data-testid=visit-evidence] img")].every((i) => i.naturalWidth > 0), null, { timeout: 30_000 });
  assert.ok(await page.isVisible("[data-testid=evidence-signed]"));
  await shot("03-reloaded-offline");
  step("saved and reloaded offline: the household page shows the photos, the sign-off and the location");

  // 2. Online: documents, then pictures; one cut, one corruption.
  const sent = new Map(); // hash -> bytes PUT
  let cut = false, corrupted = false, thumbHash = null;
  await page.route("**/api/blobs/*", async (route) => {
    const req = route.request();
    if (req.method() !== "PUT") return route.continue();
    const url = new URL(req.url());
    const hash = url.pathname.split("/").pop();
    const body = req.postDataBuffer() ?? Buffer.alloc(0);
    const total = Number(url.searchParams.get("total"));
    sent.set(hash, (sent.get(hash) ?? 0) + body.length);
    if (!cut && total > 3 * PIECE && Number(url.searchParams.get("offset")) === 2 * PIECE) {
      cut = true; // the link drops mid-photo
      return route.abort("connectionreset");
    }
    if (!corrupted && total < PIECE && total > 2000 && body[0] === 0xff) {
      corrupted = true; thumbHash = hash; // a byte changed on the way
      const bad = Buffer.from(body); bad[bad.length >> 1] ^= 0xff;
      return route.continue({ postData: bad });
    }
    return route.continue();
  });
  await context.setOffline(false);
  const serverVisit = async () => {
    for (let i = 0; i < 90; i++) {
      const r = await fetch(`${base}/api/households/${id}`, { headers: { Authorization: `Bearer ${await supToken()}` } }).then((r) => r.json());
      const v = r.household.visits[period];
      if (v && Object.keys(v.attachments ?? {}).length >= 3) return v;
      await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
  };
  let sup = null;
  async function supToken() {
    if (!sup) sup = (await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login: "sup01", password: "huhujian2026", device_id: "evidence-desk" }) }).then((r) => r.json())).token;
    return sup;
  }
  const v = await serverVisit();
  assert.ok(v, "the visit with its references reached the server");
  const refs = Object.values(v.attachments);
  const hashes = refs.flatMap((a) => [a.sha256, a.thumb].filter(Boolean));
  const onServer = async (hash) => (await fetch(`${base}/api/blobs/${hash}?household=${id}`, { headers: { Authorization: `Bearer ${await supToken()}` } }));
  for (let i = 0; i < 120; i++) {
    const codes = await Promise.all(hashes.map(async (h) => (await onServer(h)).status));
    if (codes.every((c) => c === 200)) break;
    await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(500);
  }
  for (const h of hashes) assert.equal((await onServer(h)).status, 200, `${h} reached the server`);
  assert.ok(cut && corrupted, `the cut (${cut}) and the corruption (${corrupted}) happened`);
  const photo = refs.find((a) => a.kind === "household");
  assert.ok(sent.get(photo.sha256) <= photo.size + PIECE, `after the cut ${sent.get(photo.sha256)} bytes were sent for a ${photo.size}-byte photo`);
  assert.ok(sent.get(thumbHash) >= 2 * 2000, "the corrupted thumbnail was sent again");
  await page.waitForFunction(() => !document.querySelector("[data-testid=sync-status]").textContent.includes("待传照片"), null, { timeout: 30_000 });
  assert.equal(await page.locator("[data-testid=photo-error]").count(), 0);
  await shot("04-synced");
  step(`online: documents then photos; cut once (${sent.get(photo.sha256)} bytes sent for ${photo.size}), a corrupted piece refused and re-sent`);

  // 3. What the server keeps.
  const bytes = Buffer.from(await (await onServer(photo.sha256)).arrayBuffer());
  assert.equal(bytes[0], 0xff, "a JPEG");
  assert.ok(bytes.length <= 150 * 1024, `${bytes.length} bytes`);
  const [w, h] = sizeOf(bytes);
  assert.deepEqual([w, h], [960, 1280], `stored ${w}×${h}: portrait, long edge 1280`);
  assert.ok(!bytes.includes(Buffer.from("Exif")) && !bytes.includes(Buffer.from("HHJ-SECRET")), "no Exif left");
  const doc = refs.find((a) => a.kind === "document");
  const docBytes = Buffer.from(await (await onServer(doc.sha256)).arrayBuffer());
  const [dw, dh] = sizeOf(docBytes);
  // The browser rounds the height it derives up (1280 × 1600 / 2400 = 853.3).
  assert.ok(docBytes[0] === 0xff && dw === 1280 && Math.abs(dh - 853) <= 1, `the 2400×1600 PNG came down to a ${dw}×${dh} JPEG`);
  const sig = refs.find((a) => a.kind === "signature");
  const sigBytes = Buffer.from(await (await onServer(sig.sha256)).arrayBuffer());
  assert.equal(sigBytes.subarray(1, 4).toString(), "PNG");
  const thumb = Buffer.from(await (await onServer(photo.thumb)).arrayBuffer());
  step(`kept: photo ${(bytes.length / 1024).toFixed(0)} KB ${w}×${h} JPEG, no Exif; thumbnail ${(thumb.length / 1024).toFixed(1)} KB; document ${(docBytes.length / 1024).toFixed(0)} KB; signature ${(sigBytes.length / 1024).toFixed(1)} KB PNG`);

  // 4. The console, and a cadre outside the household's scope.
  const { page: console_ } = await desk(browser, base, "sup01", 1280);
  await console_.goto(`${base}/console/#/review/${id}/${period}`);
  await console_.waitForSelector("[data-testid=visit-evidence]");
  await console_.waitForFunction(() => [...document.querySelectorAll("[data-testid=visit-evidence] img")].length === 3 &&
    [...document.querySelectorAll("[data-testid=visit-evidence] img")].every((i) => i.naturalWidth > 0), null, { timeout: 30_000 });
  assert.equal(await console_.locator("[data-testid=evidence-photo]").count(), 2);
  assert.equal(await console_.locator("[data-testid=evidence-signature]").count(), 1);
  assert.match(await console_.textContent("[data-testid=evidence-location]"), /26\.583012, 104\.832110/);
  assert.ok(await console_.isVisible("[data-testid=evidence-signed]"));
  await console_.screenshot({ path: `${out}/evidence-05-console.png`, fullPage: true });
  await console_.locator("[data-testid=evidence-photo] button").first().click();
  await console_.waitForFunction(() => document.querySelector("[data-testid=photo-full-img]")?.naturalWidth > 900);
  await console_.screenshot({ path: `${out}/evidence-06-full.png` });
  step("console: 2 photos and the signature as thumbnails, the full photo on a tap, 户主已签字确认, the location");

  // Coverage counts the signed visit; the list of visits not signed leaves it out.
  await console_.goto(`${base}/console/#/dashboard`);
  await console_.waitForSelector("[data-testid=coverage-signed]");
  const signedCells = await console_.locator("[data-testid=coverage-signed]").allTextContents();
  const signedSum = signedCells.map((t) => Number(t.split("/")[0])).reduce((a, b) => a + b, 0);
  assert.equal(signedSum, 1, `signed per site: ${signedCells}`);
  const unsigned = await fetch(`${base}/api/flagged?kind=unsigned&period=${period}`,
    { headers: { Authorization: `Bearer ${await supToken()}` } }).then((r) => r.json());
  assert.ok(!unsigned.some((r) => r.id === id), `${id} is signed`);
  await console_.click("[data-testid=flag-unsigned]");
  await console_.waitForFunction((n) => document.querySelector("[data-testid=flagged-count]")?.textContent.startsWith(`${n} `), unsigned.length);
  await console_.screenshot({ path: `${out}/evidence-07-coverage.png`, fullPage: true });
  step(`console coverage: 签字确认 ${signedSum} of the visits; 已入户未签字确认 lists ${unsigned.length} households, not ${id}`);
  for (const other of ["cadre02", "cadre03", "cadre04", "cadre05", "cadre06"]) {
    const t = (await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login: other, password: "huhujian2026", device_id: "evidence-other" }) }).then((r) => r.json())).token;
    const ids = (await fetch(`${base}/api/households`, { headers: { Authorization: `Bearer ${t}` } }).then((r) => r.json())).map((r) => r.id);
    if (ids.includes(id)) continue;
    const r = await fetch(`${base}/api/blobs/${photo.sha256}?household=${id}`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(r.status, 403, `${other} reads the photo`);
    const mine = await fetch(`${base}/api/blobs/${photo.sha256}?household=${ids[0]}`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(mine.status, 403, `${other} reads it through a household of their own`);
    step(`${other}, without ${id} in scope: 403 with the hash, through any household`);
    break;
  }

  // 5. Every kind of evidence off (the county's choice; 国办函〔2026〕12号): the visit
  //    flow is as it was, six steps, with no evidence on the last.
  const adminToken = (await fetch(`${base}/api/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: "admin", password: "huhujian2026", device_id: "evidence-admin" }) }).then((r) => r.json())).token;
  const asAdmin = { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" };
  const settings = await fetch(`${base}/api/settings`, { headers: asAdmin }).then((r) => r.json());
  settings.evidence = { photos: false, signature: false, location: false };
  const put = await fetch(`${base}/api/settings`, { method: "PUT", headers: asAdmin, body: JSON.stringify(settings) });
  assert.equal(put.status, 200, await put.text());
  await page.goto(`${base}/`);
  await page.waitForSelector("[data-testid=household-row]");
  await page.click("[data-testid=sync-now]", { timeout: 2000 }).catch(() => {});
  // The phone takes the county's settings at each sync.
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("hhj.settings") ?? "{}")?.evidence?.photos === false,
    null, { timeout: 30_000 });
  await page.click("button.chip:has-text('本月未走访')");
  await page.locator("[data-testid=household-row]").first().click();
  await page.click("[data-testid=record-visit]");
  await page.click("[data-testid=mode-in_person]");
  assert.equal(await page.locator("button.step[data-testid^=step-]").count(), 6, "six steps, as before");
  await toStep(page, "review");
  await page.waitForSelector("[data-testid=save-visit]");
  assert.equal(await page.locator("[data-testid=evidence]").count(), 0, "no evidence section");
  assert.equal(await page.locator("[data-testid=photo-input], [data-testid=sign-open], [data-testid=location-take]").count(), 0);
  await shot("08-evidence-off");
  step("every kind of evidence off: six steps as before, no photo, signature or location on 核对");
  console.log("evidence: passed");
} finally {
  await browser.close();
}
