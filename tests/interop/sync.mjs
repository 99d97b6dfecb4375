// A huhujian client written from PROTOCOL.md alone, with JavaScript's
// @automerge/automerge: log in, sync one household on its own, change it, sync a
// batch, and check the server's history. Usage: node sync.mjs http://127.0.0.1:PORT
// against a server started with --demo. Exits non-zero on any failure.
import * as A from "@automerge/automerge";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const post = (path, headers, body) => fetch(`${base}${path}`, { method: "POST", headers, body });

const login = await post("/api/login", { "Content-Type": "application/json" },
  JSON.stringify({ login: "cadre01", password: "huhujian2026", device_id: "node-interop" })).then(r => r.json());
assert.ok(login.token, "login");
const auth = { Authorization: `Bearer ${login.token}` };
const households = await fetch(`${base}/api/households`, { headers: auth }).then(r => r.json());
assert.ok(households.length > 0, "households listed");
const id = households[0].id;

// 4.1: one document, plain Automerge sync messages. Returns [doc, requests, refusal].
async function syncOne(doc) {
  let state = A.initSyncState();
  for (let trips = 0; trips < 10; trips++) {
    let msg;
    [state, msg] = A.generateSyncMessage(doc, state);
    if (!msg) return [doc, trips, null];
    const r = await post(`/api/sync/${id}`, { ...auth, "Content-Type": "application/octet-stream" }, msg);
    if (process.env.TRACE) console.log("  POST", id, msg.length, "bytes ->", r.status);
    if (r.status === 204) return [doc, trips + 1, null];
    if (r.status !== 200) return [doc, trips + 1, { status: r.status, ...(await r.json()) }];
    [doc, state] = A.receiveSyncMessage(doc, state, new Uint8Array(await r.arrayBuffer()));
  }
  assert.fail("single-document sync did not settle");
}
let [doc, trips, refusal] = await syncOne(A.init());
assert.equal(refusal, null);
assert.equal(String(doc["f/no"]), id, "downloaded the household");
console.log(`single document: downloaded in ${trips} requests`);

// Plain JS strings become collaborative Text in Automerge 3: the layout wants scalars.
const stamp = { message: JSON.stringify({ by: "cadre01", name: "李明" }), time: Math.floor(Date.now() / 1000) };
// A clone with its own actor: two documents must never share one.
const bad = A.change(A.clone(doc, "0123456789abcdef0123456789abcdef"), stamp, d => { d["v/2026-11/note"] = "Text object"; });
[, , refusal] = await syncOne(bad);
assert.equal(refusal?.status, 422, "a Text object is refused");
assert.equal(refusal.error, "schema");

doc = A.change(doc, stamp, d => { d["v/2026-11/note"] = new A.ImmutableString("JS 客户端写入"); });
[doc, trips, refusal] = await syncOne(doc);
assert.equal(refusal, null);
console.log(`single document: uploaded in ${trips} requests`);

// 4.2: a batch, framed by hand.
const enc = new TextEncoder(), dec = new TextDecoder();
function uleb(n) { const out = []; do { let b = n & 0x7f; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n); return out; }
function readUleb(buf, pos) { let n = 0, shift = 0; for (;;) { const b = buf[pos++]; n += (b & 0x7f) * 2 ** shift; shift += 7; if (!(b & 0x80)) return [n, pos]; } }
function encodeRequest(entries) {
  const bytes = [..."HHJQ"].map(c => c.charCodeAt(0)).concat([1], uleb(entries.length));
  for (const [docId, msg] of entries) { const b = enc.encode(docId); bytes.push(...uleb(b.length), ...b, ...uleb(msg.length), ...msg); }
  return new Uint8Array(bytes);
}
function decodeResponse(buf) {
  assert.equal(dec.decode(buf.slice(0, 4)), "HHJP"); assert.equal(buf[4], 1);
  let [count, pos] = readUleb(buf, 5); const out = [];
  for (let i = 0; i < count; i++) {
    let len; [len, pos] = readUleb(buf, pos); const docId = dec.decode(buf.slice(pos, pos + len)); pos += len;
    const kind = buf[pos++]; [len, pos] = readUleb(buf, pos); out.push({ docId, kind, payload: buf.slice(pos, pos + len) }); pos += len;
  }
  return out;
}
const ids = households.slice(0, 20).map(h => h.id).concat(["NOT-ON-ROSTER"]);
const docs = new Map(ids.map(i => [i, A.init()]));
const states = new Map(ids.map(i => [i, A.initSyncState()]));
const refusedIds = new Set();
let rounds = 0;
for (; rounds < 10; rounds++) {
  const entries = [];
  for (const i of ids) {
    if (refusedIds.has(i)) continue;
    const [s, msg] = A.generateSyncMessage(docs.get(i), states.get(i));
    states.set(i, s);
    if (msg) entries.push([i, msg]);
  }
  if (!entries.length) break;
  const r = await post("/api/sync", { ...auth, "Content-Type": "application/vnd.huhujian.sync", "Content-Encoding": "gzip" }, gzipSync(encodeRequest(entries)));
  assert.equal(r.status, 200, await r.clone().text());
  for (const e of decodeResponse(new Uint8Array(await r.arrayBuffer()))) {
    if (e.kind === 0) { const [d, s] = A.receiveSyncMessage(docs.get(e.docId), states.get(e.docId), e.payload); docs.set(e.docId, d); states.set(e.docId, s); }
    if (e.kind === 2) { refusedIds.add(e.docId); assert.equal(JSON.parse(dec.decode(e.payload)).code, "unknown_household"); }
  }
}
assert.ok(rounds <= 3, `batch took ${rounds} round trips`);
assert.deepEqual([...refusedIds], ["NOT-ON-ROSTER"]);
assert.equal(String(docs.get(id)["v/2026-11/note"]), "JS 客户端写入", "the batch brought the change back");
console.log(`batch: ${ids.length - 1} households in ${rounds} round trips, one refusal`);

const history = await fetch(`${base}/api/households/${id}/history`, { headers: auth }).then(r => r.json());
const last = history.at(-1);
assert.deepEqual(last.author, { by: "cadre01", name: "李明" });
assert.equal(last.uploaded_by, "cadre01");
assert.equal(last.device_id, "node-interop");
console.log("interop: 1 passed, 0 failed");
