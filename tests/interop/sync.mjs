// A huhujian client written from PROTOCOL.md and protocol/huhujian.json alone, with
// JavaScript's @automerge/automerge, run against a fresh `serve --demo` server:
//
//   node sync.mjs http://127.0.0.1:PORT
//
// Two phones download one household with the batched sync endpoint (§4.2), clash
// offline on one field and each add a member, sync until both converge, and a
// supervisor sees the conflict, reads every JSON answer of §5 (each validated against
// the endpoint's schema in huhujian.json) and settles it. Exits non-zero on any
// failure; the last line is `interop: N passed, M failed`.

import * as A from "@automerge/automerge";
import Ajv2020Module from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const BASE = (process.argv[2] ?? "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+$/.test(BASE)) {
  console.error("usage: node sync.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
const PASSWORD = "huhujian2026";
const started = Date.now();

// ---------------------------------------------------------------- assertions

let passed = 0;
let failed = 0;

/** A soft check: counted, reported, the run goes on. */
function check(ok, message, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${message}`);
  } else {
    failed++;
    console.log(`FAIL ${message}${detail === undefined ? "" : `\n     ${detail}`}`);
  }
  return ok;
}

/** A hard check: what follows depends on it, so a failure ends the run. */
function must(ok, message, detail) {
  if (!check(ok, message, detail)) throw new Error(`cannot go on: ${message}`);
}

const show = (v) => {
  const s = JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  return s === undefined ? String(v) : s.length > 600 ? `${s.slice(0, 600)}…` : s;
};

// ---------------------------------------------------------------- the description

const DESCRIPTION = JSON.parse(
  readFileSync(new URL("../../protocol/huhujian.json", import.meta.url), "utf8"),
);
const ID = DESCRIPTION.$id;

// The description uses Rust's number formats (int64, uint32, double …), which are not
// JSON Schema's; teach Ajv what they mean instead of letting it warn and ignore them.
const formats = new Set();
(function collect(node) {
  if (Array.isArray(node)) node.forEach(collect);
  else if (node && typeof node === "object") {
    if (typeof node.format === "string") formats.add(node.format);
    Object.values(node).forEach(collect);
  }
})(DESCRIPTION);
const ajv = new Ajv2020({ strict: false, allErrors: true });
for (const f of formats) {
  if (/^u?int(8|16|32|64)?$/.test(f)) {
    ajv.addFormat(f, { type: "number", validate: (x) => Number.isInteger(x) && (!f.startsWith("u") || x >= 0) });
  } else if (f === "double" || f === "float") {
    ajv.addFormat(f, { type: "number", validate: (x) => Number.isFinite(x) });
  } else {
    ajv.addFormat(f, true);
  }
}
ajv.addSchema(DESCRIPTION);

/** The validator of `endpoints[i].answer` (or `.request`) for a method and path. */
function endpointSchema(method, path, part = "answer") {
  const i = DESCRIPTION.endpoints.findIndex((e) => e.method === method && e.path === path);
  if (i < 0 || !DESCRIPTION.endpoints[i][part]) throw new Error(`huhujian.json has no ${part} schema for ${method} ${path}`);
  const v = ajv.getSchema(`${ID}#/endpoints/${i}/${part}`);
  if (!v) throw new Error(`Ajv cannot resolve ${ID}#/endpoints/${i}/${part}`);
  return v;
}
function validates(validator, value, what) {
  return check(validator(value), what, validator.errors && ajv.errorsText(validator.errors, { separator: "; " }));
}
const checkAnswer = (method, path, value, what) =>
  validates(endpointSchema(method, path), value, `${what} matches the schema of ${method} ${path}`);
const errorSchema = ajv.getSchema(`${ID}#/errors/schema`);
const refusalSchema = ajv.getSchema(`${ID}#/sync_refusals/schema`);
const REFUSAL_CODES = new Set(DESCRIPTION.sync_refusals.codes.map((c) => c.code));
const CODES = new Map(DESCRIPTION.codes.map((list) => [list.name, new Set(list.codes.map((c) => c.code))]));

// ---------------------------------------------------------------- HTTP

async function api(method, path, { token, json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (json !== undefined) {
    h["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(BASE + path, { method, headers: h, body });
  } catch (e) {
    throw new Error(`${method} ${path}: ${e.cause?.message ?? e.message}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const type = res.headers.get("content-type") ?? "";
  let value;
  if (type.startsWith("application/json") && bytes.length) {
    try {
      value = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new Error(`${method} ${path}: answer is not JSON: ${e.message}`);
    }
  }
  return { status: res.status, headers: res.headers, json: value, bytes };
}

/** A JSON read that must answer 200; returns the body. */
async function getJson(path, token, what = `GET ${path}`) {
  const r = await api("GET", path, { token });
  must(r.status === 200 && r.json !== undefined, `${what} answers 200 with JSON`, `status ${r.status}: ${show(r.json)}`);
  return r.json;
}

/** An error answer: its status, its code, and its body against `errors.schema`. */
function checkError(r, status, code, what) {
  check(r.status === status && r.json?.error === code, `${what} answers ${status} ${code}`, `got ${r.status} ${show(r.json)}`);
  validates(errorSchema, r.json, `${what}: the error body matches errors.schema`);
}

const LOGIN_REQUEST = endpointSchema("POST", "/api/login", "request");
async function login(loginName, device) {
  const request = { login: loginName, password: PASSWORD, device_id: device };
  must(LOGIN_REQUEST(request), `login request for ${loginName} matches its request schema`);
  const r = await api("POST", "/api/login", { json: request });
  must(r.status === 200, `${loginName} logs in from ${device}`, `status ${r.status}: ${show(r.json)}`);
  checkAnswer("POST", "/api/login", r.json, `the login answer of ${loginName}`);
  check(/^[0-9a-f]{64}$/.test(r.json.token), `${loginName}'s token is 64 hex characters`, r.json.token);
  check(r.json.expires_at > Date.now() / 1000 + 29 * 86400, `${loginName}'s token lasts 30 days`, show(r.json.expires_at));
  return { token: r.json.token, user: r.json.user };
}

// ---------------------------------------------------------------- the batch format (§4.2)

function uleb(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function encodeBatch(entries) {
  const parts = [Uint8Array.from([0x48, 0x48, 0x4a, 0x51, 0x01, ...uleb(entries.length)])];
  for (const [id, message] of entries) {
    const idBytes = new TextEncoder().encode(id);
    parts.push(Uint8Array.from(uleb(idBytes.length)), idBytes, Uint8Array.from(uleb(message.length)), message);
  }
  return Buffer.concat(parts);
}

function decodeBatchReply(buf) {
  let at = 0;
  const need = (n) => {
    if (at + n > buf.length) throw new Error(`sync reply truncated at byte ${at}`);
  };
  const byte = () => (need(1), buf[at++]);
  const readUleb = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      n += (b & 0x7f) * scale;
      if (!(b & 0x80)) return n;
      scale *= 128;
    }
  };
  const bytes = () => {
    const len = readUleb();
    need(len);
    const out = buf.subarray(at, at + len);
    at += len;
    return out;
  };
  const magic = String.fromCharCode(...buf.subarray(0, 4));
  if (magic !== "HHJP") throw new Error(`sync reply magic is ${JSON.stringify(magic)}, not HHJP`);
  at = 4;
  if (byte() !== 1) throw new Error("sync reply version is not 1");
  const entries = [];
  for (let i = readUleb(); i > 0; i--) {
    const id = new TextDecoder().decode(bytes());
    const kind = byte();
    if (kind > 2) throw new Error(`sync reply: unknown kind ${kind} for ${id}`);
    entries.push({ id, kind, payload: bytes() });
  }
  if (at !== buf.length) throw new Error(`sync reply has ${buf.length - at} trailing bytes`);
  return entries;
}

let syncRequests = 0;
const answerEncodings = new Set();
async function postBatch(token, entries) {
  const r = await api("POST", "/api/sync", {
    token,
    body: gzipSync(encodeBatch(entries)),
    headers: {
      "content-type": "application/vnd.huhujian.sync",
      "content-encoding": "gzip",
      "accept-encoding": "gzip",
    },
  });
  syncRequests++;
  answerEncodings.add({ encoding: r.headers.get("content-encoding"), bytes: r.bytes.length });
  if (r.status !== 200) throw new Error(`POST /api/sync answered ${r.status}: ${show(r.json)}`);
  const type = r.headers.get("content-type");
  if (type !== "application/vnd.huhujian.sync") throw new Error(`POST /api/sync answered Content-Type ${type}`);
  return decodeBatchReply(r.bytes);
}

// ---------------------------------------------------------------- a phone (§4.3)

const now = () => Math.floor(Date.now() / 1000);
const sameHeads = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

class Phone {
  constructor(label, loginName, device) {
    Object.assign(this, { label, loginName, device });
    this.docs = new Map(); // household id → Automerge document (its own actor)
    this.states = new Map(); // household id → encoded sync state (what would be persisted)
  }

  async login() {
    Object.assign(this, await login(this.loginName, this.device));
    return this;
  }

  /** One commit, stamped as PROTOCOL.md §3 says. */
  edit(id, fn) {
    const at = now();
    const doc = this.docs.get(id);
    this.docs.set(
      id,
      A.change(doc, { message: JSON.stringify({ by: this.user.id, name: this.user.name }), time: at }, fn),
    );
    return at;
  }

  /**
   * One sync session over `ids` (default: every document held): start each from its
   * persisted state, send batches until nothing is left to say.
   */
  async sync(ids = [...this.docs.keys()], maxRounds = 10) {
    const live = new Map();
    for (const id of ids) {
      if (!this.docs.has(id)) this.docs.set(id, A.init());
      const persisted = this.states.get(id);
      // Step 1: from the persisted form, never from the in-memory state of a past session.
      const state = persisted ? A.decodeSyncState(persisted) : A.initSyncState();
      live.set(id, { state, first: true, sentHeads: null });
    }
    const report = { rounds: 0, kinds: [], refused: new Map(), changed: new Set(), sentEntries: 0 };
    while (live.size) {
      if (report.rounds === maxRounds) throw new Error(`${this.label}: no end of sync after ${maxRounds} rounds`);
      const entries = [];
      for (const [id, s] of live) {
        const doc = this.docs.get(id);
        // Step 2: the server keeps no state between requests: what it still needs was
        // forgotten, not withheld, so it must not stay marked as sent.
        for (const h of s.state.theirNeed ?? []) delete s.state.sentHashes[h];
        const [state, message] = A.generateSyncMessage(doc, s.state);
        s.state = state;
        if (!message) {
          this.states.set(id, A.encodeSyncState(state));
          live.delete(id);
          continue;
        }
        const decoded = A.decodeSyncMessage(message);
        let out = message;
        if (s.first) {
          // The session's first message also carries every change since the shared heads.
          const since = A.getChangesSince(doc, state.sharedHeads);
          if (since.length) {
            decoded.changes = since;
            out = A.encodeSyncMessage(decoded);
          }
          s.first = false;
        }
        s.sentHeads = decoded.heads;
        entries.push([id, out]);
      }
      if (!entries.length) break;
      report.rounds++;
      report.sentEntries += entries.length;
      const reply = await postBatch(this.token, entries);
      const answered = new Set();
      for (const { id, kind, payload } of reply) {
        const s = live.get(id);
        if (!s || answered.has(id)) throw new Error(`${this.label}: the sync reply names ${id}, which was not asked (or twice)`);
        answered.add(id);
        report.kinds.push(kind);
        if (kind === 0) {
          const doc = this.docs.get(id);
          const before = A.getHeads(doc);
          const [after, state] = A.receiveSyncMessage(doc, s.state, payload);
          this.docs.set(id, after);
          s.state = state;
          if (!sameHeads(before, A.getHeads(after))) report.changed.add(id);
          this.states.set(id, A.encodeSyncState(state));
        } else if (kind === 1) {
          // In sync: the server holds exactly the heads announced. Record them as shared
          // and clear what is still marked as needed or in flight (§3, §4.3 step 3).
          const heads = s.sentHeads;
          const state = { ...s.state, sharedHeads: heads, theirHeads: heads, lastSentHeads: heads, theirNeed: [], sentHashes: {}, inFlight: false };
          this.states.set(id, A.encodeSyncState(state));
          live.delete(id);
        } else {
          const refusal = JSON.parse(new TextDecoder().decode(payload));
          report.refused.set(id, refusal);
          live.delete(id); // set aside; its persisted state is left as it was
        }
      }
      for (const [id] of entries) {
        if (!answered.has(id)) throw new Error(`${this.label}: the sync reply leaves out ${id}`);
      }
    }
    return report;
  }

  /** Sessions until one changes nothing here: what the server has, this phone has. */
  async syncUntilQuiet(ids) {
    for (let i = 0; i < 5; i++) {
      const r = await this.sync(ids);
      if (r.refused.size) throw new Error(`${this.label}: refused ${show([...r.refused])}`);
      if (!r.changed.size) return r;
    }
    throw new Error(`${this.label}: still receiving changes after 5 sessions`);
  }
}

// ---------------------------------------------------------------- the document layout

const SEGMENT = "[A-Za-z0-9_.-]{1,32}";
const PLACEHOLDER = { "<member>": SEGMENT, "<login>": SEGMENT, "<entry>": SEGMENT, "<measure>": SEGMENT, "<period>": "[0-9]{4}-(?:0[1-9]|1[0-2])" };
const LAYOUT = DESCRIPTION.document.keys.map((k) => ({
  ...k,
  re: new RegExp(
    `^${k.key
      .split("/")
      .map((seg) => PLACEHOLDER[seg] ?? (seg.startsWith("<") ? null : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .map((seg, i) => {
        if (seg === null) throw new Error(`huhujian.json key ${k.key}: unknown placeholder ${k.key.split("/")[i]}`);
        return seg;
      })
      .join("/")}$`,
  ),
}));
const LIMITS = DESCRIPTION.document.limits;

const isText = (v) => A.isImmutableString(v);
const textOf = (v) => (A.isImmutableString(v) ? v.val : v);

/** Why a value is wrong for its key's layout entry, or null. */
function badValue(spec, v) {
  switch (spec.type) {
    case "text":
      if (!isText(v)) return `not a string scalar (${typeof v === "string" ? "a Text object" : typeof v})`;
      return [...v.val].length > LIMITS.text_chars ? "longer than the text limit" : null;
    case "date":
      return isText(v) && /^\d{4}-\d{2}-\d{2}$/.test(v.val) ? null : "not YYYY-MM-DD text";
    case "code":
      if (!isText(v)) return "not a string scalar";
      if (!CODES.has(spec.codes)) return `names the list ${spec.codes}, which codes does not have`;
      return CODES.get(spec.codes).has(v.val) ? null : `${v.val} is not a code of ${spec.codes}`;
    case "int":
      return Number.isInteger(v) && Math.abs(v) <= LIMITS.amount ? null : "not an integer within the amount limit";
    case "unix_seconds":
      return Number.isInteger(v) ? null : "not integer seconds";
    case "microdegrees":
      return Number.isInteger(v) && Math.abs(v) <= 180000000 ? null : "not integer millionths of a degree";
    case "sha256":
      return isText(v) && /^[0-9a-f]{64}$/.test(v.val) ? null : "not a SHA-256 in lowercase hex";
    case "schema_version":
      return v === DESCRIPTION.document.schema_version ? null : `not ${DESCRIPTION.document.schema_version}`;
    case "flag":
    case "yes_no":
      return typeof v === "boolean" ? null : "not a boolean";
    default:
      return `unknown type ${spec.type}`;
  }
}

/** Every key against `document.keys`, every value (losing ones too) against its type. */
function layoutProblems(doc, byType = {}) {
  const problems = [];
  let flagsFalse = 0;
  for (const key of Object.keys(doc)) {
    const specs = LAYOUT.filter((k) => k.re.test(key));
    if (specs.length !== 1) {
      problems.push(`${key}: matches ${specs.length} key patterns`);
      continue;
    }
    byType[specs[0].type] = (byType[specs[0].type] ?? 0) + 1;
    const conflicts = A.getConflicts(doc, key);
    for (const v of conflicts ? Object.values(conflicts) : [doc[key]]) {
      const why = badValue(specs[0], v);
      if (why) problems.push(`${key} = ${show(textOf(v))}: ${why}`);
      if (specs[0].type === "flag" && v === false) flagsFalse++;
    }
  }
  return { problems, flagsFalse };
}

// ---------------------------------------------------------------- the run

async function main() {
  // The server may be just starting: poll its health rather than sleep.
  let health;
  for (let i = 0; ; i++) {
    try {
      health = await api("GET", "/api/health");
      if (health.status === 200) break;
    } catch (e) {
      if (i >= 100) throw e;
    }
    if (i >= 100) throw new Error(`GET /api/health answers ${health?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  checkAnswer("GET", "/api/health", health.json, "GET /api/health");
  check(health.json.ok === true && health.json.schema === DESCRIPTION.document.schema_version, "health says ok and the document layout version of huhujian.json", show(health.json));

  // China time decides the current period (§5).
  const P = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 7);

  // ---- 1. who shares a household: the admin's assignment view names each household's cadres.
  const admin = await login("admin", "node-interop-admin");
  const assignments = await getJson("/api/admin/assignments", admin.token);
  checkAnswer("GET", "/api/admin/assignments", assignments, "GET /api/admin/assignments");
  const rosterIds = new Set(assignments.households.map((h) => h.id));
  const shared = assignments.households.find((h) => h.cadres.length >= 2);
  const [loginA, loginB] = shared ? shared.cadres : ["cadre01", "cadre01"];
  console.log(`# phones: ${loginA} (node-interop-a) and ${loginB} (node-interop-b)${shared ? `, who share ${shared.id}` : ""}`);

  const phoneA = await new Phone("phone A", loginA, "node-interop-a").login();
  const phoneB = await new Phone("phone B", loginB, "node-interop-b").login();
  const listA = await getJson("/api/households", phoneA.token, `GET /api/households (${loginA})`);
  const listB = await getJson("/api/households", phoneB.token, `GET /api/households (${loginB})`);
  checkAnswer("GET", "/api/households", listA, `${loginA}'s household list`);
  checkAnswer("GET", "/api/households", listB, `${loginB}'s household list`);
  const H = shared ? shared.id : listA[0]?.id;
  must(H && listA.some((h) => h.id === H) && listB.some((h) => h.id === H), `household ${H} is on both phones' lists`);
  const idsA = listA.map((h) => h.id);
  const idsB = listB.map((h) => h.id);

  // ---- 2. download: every household of each phone, in batches (phone A's list, phone B's list).
  let t = Date.now();
  const downA = await phoneA.sync(idsA);
  console.log(`# phone A downloaded ${idsA.length} households in ${downA.rounds} round trips, ${Date.now() - t} ms`);
  const downB = await phoneB.sync(idsB);
  check(downA.refused.size === 0 && downB.refused.size === 0, "the downloads refuse nothing", show([...downA.refused, ...downB.refused]));
  const emptyA = idsA.filter((id) => !A.getHeads(phoneA.docs.get(id)).length);
  check(emptyA.length === 0, `phone A holds every one of its ${idsA.length} households`, `empty: ${emptyA}`);
  check(
    idsA.every((id) => textOf(phoneA.docs.get(id)["f/no"]) === id),
    "each downloaded document's f/no is its household id",
  );
  must(sameHeads(A.getHeads(phoneA.docs.get(H)), A.getHeads(phoneB.docs.get(H))), `both phones downloaded ${H} at the same heads`);
  check(Object.keys(phoneA.docs.get(H)).length > 10, `${H} arrived with its fields`, `${Object.keys(phoneA.docs.get(H)).length} keys`);

  // A second session right away is one round trip, every household answered "in sync".
  const idle = await phoneA.sync();
  check(
    idle.rounds === 1 && idle.kinds.length === idsA.length && idle.kinds.every((k) => k === 1),
    `an idle session of phone A is one round trip answered "in sync" for all ${idsA.length} households`,
    `rounds ${idle.rounds}, kinds ${[...new Set(idle.kinds)]}`,
  );

  // ---- 3. the offline clash: one field, two values; and a new member on each phone.
  const noteKey = `v/${P}/note`;
  const valueA = `甲手机的备注 interop ${randomBytes(3).toString("hex")}`;
  const valueB = `乙手机的备注 interop ${randomBytes(3).toString("hex")}`;
  const memberA = `ia${randomBytes(4).toString("hex")}`;
  const memberB = `ib${randomBytes(4).toString("hex")}`;
  const member = (id, name, sex, birth) => (d) => {
    d[`m/${id}/name`] = new A.ImmutableString(name);
    d[`m/${id}/sex`] = new A.ImmutableString(sex);
    d[`m/${id}/birth`] = new A.ImmutableString(birth);
    d[`m/${id}/relation`] = new A.ImmutableString("grandchild");
    d[`m/${id}/labour`] = new A.ImmutableString("none");
    d[`m/${id}/status`] = new A.ImmutableString("present");
    d[`m/${id}/school`] = true;
  };
  const atA = phoneA.edit(H, (d) => {
    d[noteKey] = new A.ImmutableString(valueA);
    member(memberA, "测试甲", "female", "2015-03-14")(d);
  });
  const atB = phoneB.edit(H, (d) => {
    d[noteKey] = new A.ImmutableString(valueB);
    member(memberB, "测试乙", "male", "2016-07-01")(d);
  });

  const docA = () => phoneA.docs.get(H);
  const docB = () => phoneB.docs.get(H);
  t = Date.now();
  const upA = await phoneA.sync([H]);
  check(upA.rounds === 1 && upA.kinds[0] === 1, "phone A's upload is one round trip answered in sync", `rounds ${upA.rounds}, kinds ${upA.kinds}`);
  check(
    sameHeads(A.decodeSyncState(phoneA.states.get(H)).sharedHeads, A.getHeads(docA())),
    "after the in-sync reply phone A's persisted sync state holds its new heads as shared",
  );
  const upB = await phoneB.sync([H]);
  check(upB.refused.size === 0 && upB.changed.has(H), "phone B uploads and receives phone A's change", `refused ${show([...upB.refused])}`);
  const againA = await phoneA.syncUntilQuiet([H]);
  await phoneB.syncUntilQuiet([H]);
  console.log(`# the clash synced in ${Date.now() - t} ms`);

  // ---- 4. convergence, members, the conflict on the phones and for the supervisor.
  check(sameHeads(A.getHeads(docA()), A.getHeads(docB())), "both phones converge to the same heads", `${A.getHeads(docA())} vs ${A.getHeads(docB())}`);
  check(againA.rounds === 1 && againA.kinds.every((k) => k === 1), "after that, phone A's session is answered in sync", show(againA.kinds));
  for (const [phone, doc] of [["phone A", docA()], ["phone B", docB()]]) {
    check(textOf(doc[`m/${memberA}/name`]) === "测试甲" && textOf(doc[`m/${memberB}/name`]) === "测试乙", `${phone} holds both new members`);
    const values = Object.values(A.getConflicts(doc, noteKey) ?? {}).map(textOf).sort();
    check(show(values) === show([valueA, valueB].sort()), `${phone} sees ${noteKey} in conflict with both values`, show(values));
  }

  const sup = await login("sup01", "node-interop-sup");
  const conflicts = await getJson("/api/conflicts", sup.token);
  checkAnswer("GET", "/api/conflicts", conflicts, "GET /api/conflicts");
  const item = conflicts.find((c) => c.household_id === H && c.key === noteKey);
  if (check(item, `GET /api/conflicts lists ${H} ${noteKey}`, show(conflicts.slice(0, 3)))) {
    check(item.field_zh.length > 0 && item.field_en.length > 0, "the conflict has readable field names", `${item.field_zh} / ${item.field_en}`);
    for (const [phone, value, at] of [[phoneA, valueA, atA], [phoneB, valueB, atB]]) {
      const v = item.values.find((x) => x.value === value);
      check(
        v && v.author?.by === phone.user.id && v.author?.name === phone.user.name && v.at === at,
        `the conflict shows ${phone.label}'s value with author ${phone.user.id} and time ${at}`,
        show(v ?? item.values),
      );
    }
    check(item.values.length === 2, "the conflict has exactly the two values", show(item.values));
    check(item.values[0].value === textOf(docA()[noteKey]), "the value that reads as the field's value comes first (as Automerge picks it)", `${item.values[0].value} vs ${textOf(docA()[noteKey])}`);
  }

  const detail = await getJson(`/api/households/${H}`, sup.token);
  checkAnswer("GET", "/api/households/{id}", detail, `GET /api/households/${H}`);
  check(detail.id === H, "the household view names its id");
  check(
    detail.household.members[memberA]?.name === "测试甲" && detail.household.members[memberB]?.name === "测试乙",
    "household.members holds both new members",
    show(Object.keys(detail.household.members)),
  );
  const fieldConflict = detail.conflicts.find((c) => c.key === noteKey);
  check(
    fieldConflict && show(fieldConflict.values.map((v) => v.value).sort()) === show([valueA, valueB].sort()),
    "the household view lists the conflict with both values",
    show(detail.conflicts),
  );
  check(detail.household.visits[P]?.note === textOf(docA()[noteKey]), "household.visits[P].note reads as the phones read it");

  // ---- 5. refusals in one batch, the rest of it going through (a third device of phone A's cadre).
  const phoneC = await new Phone("phone C", loginA, "node-interop-c").login();
  const H2 = idsA.find((id) => id !== H);
  await phoneC.sync([H2]);
  must(textOf(phoneC.docs.get(H2)["f/no"]) === H2, `phone C downloaded ${H2}`);
  const helpNote = `interop 帮扶说明 ${randomBytes(3).toString("hex")}`;
  phoneC.edit(H2, (d) => {
    d[`v/${P}/help_note`] = new A.ImmutableString(helpNote);
  });
  // A copy of phone A's household with a fresh actor, and a JavaScript string: a Text object.
  phoneC.docs.set(H, A.clone(phoneA.docs.get(H)));
  phoneC.states.set(H, phoneA.states.get(H));
  const textValue = "a plain JavaScript string becomes a Text object";
  phoneC.edit(H, (d) => {
    d[`v/${P}/risk_note`] = textValue;
  });
  check(typeof phoneC.docs.get(H)[`v/${P}/risk_note`] === "string" && !isText(phoneC.docs.get(H)[`v/${P}/risk_note`]), "a JavaScript string assigned in change reads back as a Text object");
  let unknown = "5323259999999";
  while (rosterIds.has(unknown)) unknown = String(Number(unknown) - 1);
  phoneC.docs.set(unknown, A.init());
  const mixed = await phoneC.sync([H, unknown, H2]);
  const refusedText = mixed.refused.get(H);
  check(refusedText?.code === "schema", "the Text object is refused as schema", show(refusedText));
  if (refusedText) validates(refusalSchema, refusedText, "the schema refusal matches sync_refusals.schema");
  const refusedUnknown = mixed.refused.get(unknown);
  check(refusedUnknown?.code === "unknown_household", `${unknown} (not on the roster) is refused as unknown_household`, show(refusedUnknown));
  if (refusedUnknown) validates(refusalSchema, refusedUnknown, "the unknown_household refusal matches sync_refusals.schema");
  check([...mixed.refused.values()].every((r) => REFUSAL_CODES.has(r.code)), "every refusal code is one of sync_refusals.codes");
  check(!mixed.refused.has(H2) && mixed.kinds.length >= 3, `the rest of the batch (${H2}, with a new help note) goes through`, show([...mixed.refused]));
  const afterH2 = await getJson(`/api/households/${H2}`, sup.token);
  check(afterH2.household.visits[P]?.help_note === helpNote, `the server stored ${H2}'s help note from that batch`, show(afterH2.household.visits[P]?.help_note));
  const afterH = await getJson(`/api/households/${H}`, sup.token);
  check(afterH.household.visits[P]?.risk_note !== textValue, `nothing of the refused ${H} was stored`, show(afterH.household.visits[P]?.risk_note));

  // §4.1 and the whole-request errors, briefly.
  const single = await api("POST", `/api/sync/${unknown}`, { token: phoneA.token, body: new Uint8Array(), headers: { "content-type": "application/octet-stream" } });
  checkError(single, 404, "unknown_household", `POST /api/sync/${unknown}`);
  const supSync = await api("POST", "/api/sync", { token: sup.token, body: encodeBatch([]), headers: { "content-type": "application/vnd.huhujian.sync" } });
  checkError(supSync, 403, "sync_not_for_supervisors", "a supervisor's POST /api/sync");
  const badBatch = await api("POST", "/api/sync", { token: phoneA.token, body: Buffer.from("HHJX\u0001\u0000"), headers: { "content-type": "application/vnd.huhujian.sync" } });
  checkError(badBatch, 400, "bad_batch", "a batch with a wrong magic");

  // ---- 6. every JSON answer of §5 as sup01, and the admin's.
  const me = await getJson("/api/me", sup.token);
  checkAnswer("GET", "/api/me", me, "GET /api/me (sup01)");
  check(me.id === "sup01" && me.role === "supervisor" && me.area !== null, "sup01 is a supervisor with an area", show(me));
  const meA = await getJson("/api/me", phoneA.token);
  checkAnswer("GET", "/api/me", meA, `GET /api/me (${loginA})`);

  const supList = await getJson("/api/households", sup.token, "GET /api/households (sup01)");
  checkAnswer("GET", "/api/households", supList, "sup01's household list");
  const row = supList.find((h) => h.id === H);
  check(row?.conflicts >= 1, `sup01's list counts the conflict of ${H}`, show(row));

  for (const by of ["site", "grid", "cadre"]) {
    const cov = await getJson(`/api/coverage?by=${by}`, sup.token);
    checkAnswer("GET", "/api/coverage", cov, `GET /api/coverage?by=${by}`);
    check(cov.length > 0 && cov.every((r) => "rate" in r && r.visited <= r.assigned), `coverage by ${by} has rows with a rate, visited ≤ assigned`, show(cov[0]));
    if (by !== "cadre") check(cov.reduce((n, r) => n + r.assigned, 0) === supList.length, `coverage by ${by} adds up to sup01's ${supList.length} households`);
  }
  const indicators = await getJson("/api/indicators", sup.token);
  checkAnswer("GET", "/api/indicators", indicators, "GET /api/indicators");
  check(indicators.period === P, `indicators default to the current period ${P}`, indicators.period);
  for (const kind of ["zero_employment", "low_income", "guarantee", "new_risk", "monitored", "not_visited"]) {
    const flagged = await getJson(`/api/flagged?kind=${kind}`, sup.token);
    checkAnswer("GET", "/api/flagged", flagged, `GET /api/flagged?kind=${kind}`);
  }
  const trend = await getJson("/api/trend?months=12", sup.token);
  checkAnswer("GET", "/api/trend", trend, "GET /api/trend?months=12");
  check(trend.length === 12 && trend.at(-1).period === P && trend[0].period < trend.at(-1).period, "the trend is 12 periods, oldest first, ending now", show(trend.map((x) => x.period)));
  for (const status of ["pending", "returned", "approved"]) {
    const reviews = await getJson(`/api/reviews?status=${status}`, sup.token);
    checkAnswer("GET", "/api/reviews", reviews, `GET /api/reviews?status=${status}`);
    check(reviews.period === P, `the ${status} review queue is of period ${P}`, reviews.period);
  }
  const history = await getJson(`/api/households/${H}/history`, sup.token);
  checkAnswer("GET", "/api/households/{id}/history", history, `GET /api/households/${H}/history`);
  for (const [phone, value, at] of [[phoneA, valueA, atA], [phoneB, valueB, atB]]) {
    const change = history.find((c) => c.fields.some(([k, v]) => k === noteKey && v === value));
    check(
      change && change.author?.by === phone.user.id && change.at === at && change.uploaded_by === phone.user.id && change.device_id === phone.device && Number.isInteger(change.received_at),
      `the history has ${phone.label}'s change: author, time, uploaded_by ${phone.user.id}, device ${phone.device}`,
      show(change),
    );
  }
  const users = await getJson("/api/admin/users", admin.token);
  checkAnswer("GET", "/api/admin/users", users, "GET /api/admin/users");
  const roles = users.map((u) => u.role);
  const order = { admin: 0, supervisor: 1, cadre: 2 };
  check(roles.every((r, i) => i === 0 || order[roles[i - 1]] <= order[r]), "admin users: admins, then supervisors, then cadres", show(roles));

  // Errors: a wrong password, an unknown login, a cadre on a console read, a bad period.
  const wrong = await api("POST", "/api/login", { json: { login: "cadre08", password: "not-the-password", device_id: "node-interop-x" } });
  checkError(wrong, 401, "wrong_credentials", "a wrong password");
  const nobody = await api("POST", "/api/login", { json: { login: "interop-nobody", password: "not-the-password", device_id: "node-interop-x" } });
  checkError(nobody, 401, "wrong_credentials", "an unknown login");
  check(show(wrong.json) === show(nobody.json), "an unknown login looks the same as a wrong password");
  checkError(await api("GET", "/api/coverage?by=site", { token: phoneA.token }), 403, "forbidden", "a cadre's GET /api/coverage");
  checkError(await api("GET", "/api/indicators?period=1999-01", { token: sup.token }), 400, "period_out_of_range", "GET /api/indicators?period=1999-01");
  checkError(await api("GET", "/api/me"), 401, "unauthorized", "GET /api/me without a token");

  // Settle the clash on phone B's value.
  const resolveRequest = { key: noteKey, value: valueB };
  must(endpointSchema("POST", "/api/households/{id}/resolve", "request")(resolveRequest), "the resolve request matches its request schema");
  const resolved = await api("POST", `/api/households/${H}/resolve`, { token: sup.token, json: resolveRequest });
  must(resolved.status === 200, `sup01 resolves ${noteKey} on phone B's value`, `status ${resolved.status}: ${show(resolved.json)}`);
  checkAnswer("POST", "/api/households/{id}/resolve", resolved.json, "the resolve answer");
  check(!resolved.json.conflicts.some((c) => c.key === noteKey), "the resolve answer has the conflict gone", show(resolved.json.conflicts));
  check(resolved.json.household.visits[P]?.note === valueB, "the resolve answer reads phone B's value", show(resolved.json.household.visits[P]?.note));
  const historyAfter = await getJson(`/api/households/${H}/history`, sup.token);
  checkAnswer("GET", "/api/households/{id}/history", historyAfter, "the history after the resolution");
  const settling = historyAfter.find((c) => c.author?.by === "sup01" && c.fields.some(([k]) => k === noteKey));
  check(
    settling && settling.uploaded_by === "sup01" && settling.device_id === "node-interop-sup",
    "the history has sup01's resolution, logged with sup01's device",
    show(settling),
  );
  const settledAs = settling?.fields.find(([k]) => k === noteKey)?.[1];
  if (settling && settledAs !== valueB) {
    console.log(`# note: the history shows the resolution as ${show(noteKey)} = ${show(settledAs)}, not the value kept`);
  }
  const again = await api("POST", `/api/households/${H}/resolve`, { token: sup.token, json: resolveRequest });
  checkError(again, 409, "no_conflict", "resolving it a second time");

  await phoneA.syncUntilQuiet([H]);
  await phoneB.syncUntilQuiet([H]);
  check(sameHeads(A.getHeads(docA()), A.getHeads(docB())), "after the resolution both phones are at the same heads");
  for (const [phone, doc] of [["phone A", docA()], ["phone B", docB()]]) {
    const left = A.getConflicts(doc, noteKey);
    check(!left || Object.keys(left).length === 1, `${phone} no longer sees a conflict on ${noteKey}`, show(left && Object.values(left).map(textOf)));
    check(textOf(doc[noteKey]) === valueB, `${phone} reads the settled value`, show(textOf(doc[noteKey])));
  }
  const after = await getJson("/api/conflicts", sup.token);
  check(!after.some((c) => c.household_id === H && c.key === noteKey), "GET /api/conflicts no longer lists it");

  // ---- 7. the layout: every key of every synced document, every value of every key.
  let keys = 0;
  let flagsFalse = 0;
  const byType = {};
  const problems = [];
  for (const phone of [phoneA, phoneB]) {
    for (const [id, doc] of phone.docs) {
      const r = layoutProblems(doc, byType);
      keys += Object.keys(doc).length;
      flagsFalse += r.flagsFalse;
      problems.push(...r.problems.map((p) => `${phone.label} ${id}: ${p}`));
    }
  }
  check(problems.length === 0, `every key of the ${phoneA.docs.size + phoneB.docs.size} synced documents (${keys} keys) matches document.keys, with a value of its type and codes from its list`, problems.slice(0, 10).join("\n     "));
  console.log(`# keys by type: ${show(byType)}`);
  if (flagsFalse) console.log(`# note: ${flagsFalse} plain flags are stored as false (PROTOCOL.md says they are written only as true)`);
  const keysH = Object.keys(docA());
  check(keysH.includes(`m/${memberA}/school`) && keysH.every((k) => !k.includes("//")), `${H}'s keys include the new members' fields`);

  // The server leaves tiny answers (a few in-sync entries) uncompressed; the downloads must not be.
  const big = [...answerEncodings].filter((a) => a.bytes >= 1024);
  check(big.length > 0 && big.every((a) => a.encoding === "gzip"), "batch answers of 1 KB or more came gzip-compressed (Accept-Encoding: gzip)", show([...answerEncodings]));
  console.log(`# ${syncRequests} sync requests`);
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack ?? e}`);
}
console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`interop: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
