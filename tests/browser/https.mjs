// The app over HTTPS from the server itself, as on a county's own server with a
// certificate from the county's CA that the phone trusts: Chromium trusts the test CA
// through its NSS store (HOME/.pki/nssdb, made by `cargo xtask test`), never by
// ignoring certificate errors. Checks the secure origin's promises: the page loads
// with a valid certificate, HSTS is sent, the wasm comes brotli-compressed, the service
// worker takes control, and the app reloads with no network. Then measures, over an
// emulated Slow 3G link, the TLS handshake and the first load, with brotli and with
// gzip only. Usage: node https.mjs https://127.0.0.1:PORT ARTIFACTS_DIR (the server
// started with --demo --tls-cert/--tls-key for huhujian.test).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const port = new URL(process.argv[2]).port;
const base = `https://huhujian.test:${port}`;
const out = process.argv[3] ?? "test-artifacts";
mkdirSync(out, { recursive: true });
const step = (name) => console.log(`  · ${name}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // The name resolves to this machine; the certificate is for that name.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP huhujian.test 127.0.0.1"],
});

/// A fresh 360-pixel phone; with `slow`, behind Chrome DevTools' "Slow 3G" (400 ms
/// latency, 400 kbit/s down and up); with `gzipOnly`, asking for gzip alone (as an
/// insecure origin would get). Returns the page, its CDP session and the wasm's
/// response headers once the login form is up, and the load figures.
async function firstLoad({ slow, gzipOnly }) {
  const context = await browser.newContext({ viewport: { width: 360, height: 760 }, deviceScaleFactor: 2, locale: "zh-CN" });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  if (slow) {
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 400, downloadThroughput: 400 * 1024 / 8, uploadThroughput: 400 * 1024 / 8 });
  }
  if (gzipOnly) {
    await cdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": "gzip" } });
  }
  let wasm = null;
  let wasmBytes = 0;
  const ids = new Map();
  cdp.on("Network.responseReceived", (e) => { if (e.response.url.endsWith(".wasm")) { wasm = e.response; ids.set(e.requestId, true); } });
  cdp.on("Network.loadingFinished", (e) => { if (ids.has(e.requestId)) wasmBytes = e.encodedDataLength; });
  const started = Date.now();
  await page.goto(base);
  await page.waitForSelector("input[name=login]", { timeout: 120_000 });
  const loaded = (Date.now() - started) / 1000;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { connect: n.connectEnd - n.connectStart, tls: n.connectEnd - n.secureConnectionStart, protocol: n.nextHopProtocol };
  });
  return { context, page, wasm, wasmBytes, loaded, nav };
}

try {
  // Over the loopback first: the promises of a secure origin.
  const { context, page, wasm, nav } = await firstLoad({ slow: false, gzipOnly: false });
  assert.ok(nav.tls > 0, "a TLS handshake happened");
  const headers = await page.evaluate(async () => Object.fromEntries((await fetch("/api/health")).headers));
  assert.equal(headers["strict-transport-security"], "max-age=31536000", "HSTS");
  assert.ok(wasm, "the wasm was fetched");
  assert.equal(wasm.headers["content-encoding"] ?? wasm.headers["Content-Encoding"], "br", "brotli over HTTPS");
  assert.equal(await page.evaluate(() => window.isSecureContext), true, "a secure context");
  step(`https://huhujian.test:${port} loads with the county CA's certificate; HSTS sent; wasm served as br; secure context`);
  await page.fill("input[name=login]", "cadre01");
  await page.fill("input[name=password]", "huhujian2026");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]")?.textContent.includes("上次同步"), null, { timeout: 60_000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  const persisted = await page.evaluate(() => navigator.storage?.persisted?.() ?? null);
  const rows = await page.locator("[data-testid=household-row]").count();
  step(`logged in as cadre01: ${rows} households; service worker in control; storage persisted: ${persisted}`);
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector("[data-testid=household-row]", { timeout: 30_000 });
  assert.equal(await page.locator("[data-testid=household-row]").count(), rows, "the same households offline");
  await page.screenshot({ path: `${out}/https-01-offline-reload.png`, fullPage: true });
  step("reloaded with no network: the app and its households are there");
  await context.close();

  // Slow 3G, a new phone each time: with brotli, then with gzip only.
  const figures = [];
  for (const gzipOnly of [false, true]) {
    const run = await firstLoad({ slow: true, gzipOnly });
    const encoding = run.wasm?.headers["content-encoding"] ?? "none";
    assert.equal(encoding, gzipOnly ? "gzip" : "br");
    figures.push({ encoding, handshakeMs: Math.round(run.nav.tls), connectMs: Math.round(run.nav.connect), wasmKB: Math.round(run.wasmBytes / 1024), loginFormS: run.loaded.toFixed(1) });
    await run.context.close();
  }
  for (const f of figures) {
    step(`Slow 3G, ${f.encoding}: TCP+TLS ${f.connectMs} ms (TLS ${f.handshakeMs} ms), wasm ${f.wasmKB} KB on the wire, login form after ${f.loginFormS} s`);
  }
  console.log(`HTTPS_FIGURES ${JSON.stringify(figures)}`);
  console.log("browser https: 1 passed, 0 failed");
} finally {
  await browser.close();
}
