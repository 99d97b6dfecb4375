//! 走访佐证 (evidence): a cadre's photo referenced by a visit reaches the server in
//! pieces (PROTOCOL.md §4.7), on both engines: what is missing is asked in one request,
//! a piece sent twice changes nothing, one past what the server holds is refused, the
//! whole is checked against its hash and its content; only a household the uploader
//! may touch that references the hash lets a byte in, and only someone whose scope
//! covers such a household reads it back. The SIGKILL test: a server killed while
//! pieces arrive never serves a partial blob, and the upload resumes.

use std::path::Path;

use huhujian_tests::pg::PgDb;
use huhujian_tests::{Phone, TestServer, seed};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::Stamp;
use shared::api::blob::PIECE_BYTES;
use shared::api::{BlobHeld, BlobsMissing};
use shared::evidence::{Attachment, EvidenceKind, MediaType, entry_of};

use huhujian_tests::s3::S3Server;
use server::blobs::Blobs;

use crate::crash::{ServerProcess, server_binary};
use crate::{ROSTER_USERS, roster_db};

fn sha(bytes: &[u8]) -> String {
    server::blobs::hex(&Sha256::digest(bytes))
}

/// `n` bytes that start like a JPEG (the server tells formats by their first bytes).
fn jpeg(n: usize, salt: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend((0..n.saturating_sub(4)).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)));
    b
}

/// Adds `bytes` (and `thumb`) to household `id`'s visit of this month on `phone`, as
/// the phone's photo screen does, and syncs.
async fn attach(phone: &mut Phone, id: &str, bytes: &[u8], thumb: Option<&[u8]>, media: MediaType) -> String {
    let period = shared::Period::of(shared::Date::in_china(server::auth::now())).to_string();
    attach_to(phone, id, &period, bytes, thumb, media).await
}

/// [`attach`], to the visit of `period`.
async fn attach_to(
    phone: &mut Phone,
    id: &str,
    period: &str,
    bytes: &[u8],
    thumb: Option<&[u8]>,
    media: MediaType,
) -> String {
    let at = server::auth::now();
    let hash = sha(bytes);
    let a = Attachment {
        sha256: hash.clone(),
        thumb: thumb.map(sha).unwrap_or_default(),
        kind: Some(EvidenceKind::Household),
        media: Some(media),
        size: Some(bytes.len() as i64),
        caption: "新居门口".into(),
        by: "c1".into(),
        at: Some(at),
        removed: false,
    };
    phone
        .docs
        .get_mut(id)
        .expect("the household is on the phone")
        .edit(&Stamp::new("c1", "李明", at), |h| {
            h.visits.entry(period.to_owned()).or_default().attachments.insert(entry_of(&hash).to_owned(), a);
        })
        .expect("edit");
    let report = phone.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    hash
}

async fn put(phone: &Phone, hash: &str, household: &str, offset: usize, total: usize, piece: &[u8]) -> (u16, Value) {
    let path = format!("/api/blobs/{hash}?household={household}&offset={offset}&total={total}");
    let resp = phone.put_bytes(&path, piece.to_vec()).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Sends `bytes` from `from` on in pieces (at least one: from the end, an empty one,
/// which completes an upload whose every byte the server holds unchecked); the last
/// answer.
async fn send_from(phone: &Phone, hash: &str, household: &str, bytes: &[u8], from: usize) -> (u16, Value) {
    let mut offset = from;
    loop {
        let end = (offset + PIECE_BYTES).min(bytes.len());
        let last = put(phone, hash, household, offset, bytes.len(), &bytes[offset..end]).await;
        offset = end;
        if last.0 != 200 || offset >= bytes.len() {
            return last;
        }
    }
}

async fn missing(phone: &Phone, hashes: &[&str]) -> Vec<(String, u64)> {
    let resp = phone.post_json("/api/blobs/missing", &json!({"hashes": hashes})).await;
    assert_eq!(resp.status(), 200);
    let m: BlobsMissing = resp.json().await.expect("json");
    m.missing.into_iter().map(|b| (b.sha256, b.have)).collect()
}

/// 佐证设置: photos and the sign-off offered in a new database, the location not; an
/// admin's change reaches every user; a client that sends only the years keeps them.
async fn settings(server: &TestServer) {
    let admin = Phone::login(server, "admin", "desk").await;
    let c1 = Phone::login(server, "c1", "c1-phone").await;
    let evidence = |s: &Value| s["evidence"].clone();
    let first: Value = c1.get_json("/api/settings").await;
    assert_eq!(evidence(&first), json!({"photos": true, "signature": true, "location": false}));
    let mut changed = first.clone();
    changed["evidence"] = json!({"photos": false, "signature": true, "location": true});
    assert_eq!(admin.put_json("/api/settings", &changed).await.status(), 200);
    let years_only = json!({"years": first["years"]});
    let resp = admin.put_json("/api/settings", &years_only).await;
    assert_eq!(resp.status(), 200);
    let answered: Value = resp.json().await.unwrap();
    assert_eq!(evidence(&answered), json!({"photos": false, "signature": true, "location": true}));
    let read: Value = c1.get_json("/api/settings").await;
    assert_eq!(evidence(&read), json!({"photos": false, "signature": true, "location": true}));
    assert_eq!(c1.put_json("/api/settings", &first).await.status(), 403);
    assert_eq!(admin.put_json("/api/settings", &first).await.status(), 200);
}

async fn scenario(server: &TestServer) {
    settings(server).await;
    let mut c1 = Phone::login(server, "c1", "c1-phone").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let photo = jpeg(100_000, 7);
    let thumb = jpeg(6_000, 9);
    let hash = attach(&mut c1, "H2", &photo, Some(&thumb), MediaType::Jpeg).await;
    let thumb_hash = sha(&thumb);
    let stranger = sha(b"never referenced");

    // One request asks about them all.
    let asked = missing(&c1, &[&hash, &thumb_hash, &stranger]).await;
    assert_eq!(asked, [(hash.clone(), 0), (thumb_hash.clone(), 0), (stranger.clone(), 0)]);

    // Refusals, each before a byte is kept.
    let c2 = Phone::login(server, "c2", "c2-phone").await;
    let (s, body) = put(&c2, &hash, "H2", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!((s, body["error"].as_str()), (403, Some("blob_not_referenced")), "outside c2's scope: {body}");
    let (s, _) = put(&c2, &hash, "H1", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!(s, 403, "c2's own household does not reference it");
    let (s, body) = put(&c1, &stranger, "H2", 0, 10, &photo[..10]).await;
    assert_eq!((s, body["error"].as_str()), (403, Some("blob_not_referenced")));
    let (s, body) = put(&c1, &hash, "H2", 0, 600 << 10, &photo[..PIECE_BYTES]).await;
    assert_eq!((s, body["error"].as_str()), (413, Some("blob_too_large")));
    let (s, body) = put(&c1, &hash, "H2", 0, photo.len() - 1, &photo[..PIECE_BYTES]).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("blob_size")), "{body}");
    let (s, body) = put(&c1, "ABC", "H2", 0, 3, b"abc").await;
    assert_eq!((s, body["error"].as_str()), (400, Some("bad_hash")));
    assert_eq!(missing(&c1, &[&hash]).await[..], [(hash.clone(), 0)], "nothing kept");

    // A format by its content: a GIF referenced as a photo is refused.
    let gif = b"GIF89a\x01\x00\x01\x00".to_vec();
    let gif_hash = attach(&mut c1, "H2", &gif, None, MediaType::Jpeg).await;
    let (s, body) = put(&c1, &gif_hash, "H2", 0, gif.len(), &gif).await;
    assert_eq!((s, body["error"].as_str()), (415, Some("blob_not_image")), "{body}");

    // Pieces: the first, the same again (its answer lost), one past a gap, the rest.
    let (s, held) = put(&c1, &hash, "H2", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_value::<BlobHeld>(held).unwrap(),
        BlobHeld { have: PIECE_BYTES as u64, complete: false }
    );
    let (s, held) = put(&c1, &hash, "H2", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!((s, held["have"].as_u64()), (200, Some(PIECE_BYTES as u64)));
    let (s, body) = put(&c1, &hash, "H2", 2 * PIECE_BYTES, photo.len(), &photo[2 * PIECE_BYTES..3 * PIECE_BYTES]).await;
    assert_eq!((s, body["error"].as_str()), (409, Some("blob_gap")));
    // Half sent: nothing readable yet; the server says where to go on.
    let resp = c1.get(&format!("/api/blobs/{hash}?household=H2")).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(missing(&c1, &[&hash]).await[..], [(hash.clone(), PIECE_BYTES as u64)]);
    let (s, held) = send_from(&c1, &hash, "H2", &photo, PIECE_BYTES).await;
    assert_eq!((s, held["complete"].as_bool()), (200, Some(true)), "{held}");
    // A duplicate upload is taken without effect.
    let (s, held) = put(&c1, &hash, "H2", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!((s, held["complete"].as_bool(), held["have"].as_u64()), (200, Some(true), Some(photo.len() as u64)));

    // A corrupted upload (one byte changed on the way) is refused whole, then sent again.
    let mut bad = thumb.clone();
    bad[5000] ^= 0xFF;
    let (s, body) = put(&c1, &thumb_hash, "H2", 0, bad.len(), &bad).await;
    assert_eq!((s, body["error"].as_str()), (422, Some("hash_mismatch")), "{body}");
    assert_eq!(missing(&c1, &[&thumb_hash]).await[..], [(thumb_hash.clone(), 0)], "dropped whole");
    let (s, held) = put(&c1, &thumb_hash, "H2", 0, thumb.len(), &thumb).await;
    assert_eq!((s, held["complete"].as_bool()), (200, Some(true)));
    assert_eq!(missing(&c1, &[&hash, &thumb_hash, &stranger]).await[..], [(stranger.clone(), 0)]);

    // Read back: by the cadre and by the site's supervisor; nobody else, hash or not.
    let resp = c1.get(&format!("/api/blobs/{hash}?household=H2")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
    assert_eq!(cache, "no-store", "no cache, shared or private, keeps a household's photo");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), photo);
    let s1 = Phone::login(server, "s1", "desk").await;
    let resp = s1.get(&format!("/api/blobs/{thumb_hash}?household=H2")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), thumb);
    for household in ["H2", "H1", "H4", "H9"] {
        let resp = c2.get(&format!("/api/blobs/{hash}?household={household}")).await;
        assert_eq!(resp.status(), 403, "c2 reads the photo through {household}");
    }
    // The export says it per visit: photos, signed or not, the location.
    let csv = s1.get("/api/export/households.csv").await.text().await.unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches('\u{feff}').split(',').collect();
    let row: Vec<&str> = lines.find(|l| l.starts_with("H2,")).expect("H2's row").split(',').collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name}: {header:?}"))];
    assert_eq!((cell("佐证照片数"), cell("户主签字确认"), cell("走访定位")), ("2", "否", ""), "{csv}");
    // The console shows it with the visit: the reference is in the household's detail.
    let detail: Value = s1.get_json("/api/households/H2").await;
    let visits = detail["household"]["visits"].as_object().unwrap();
    let refs: Vec<&Value> = visits.values().flat_map(|v| v["attachments"].as_object().unwrap().values()).collect();
    assert!(refs.iter().any(|a| a["sha256"] == hash.as_str() && a["caption"] == "新居门口"), "{refs:?}");
}

#[tokio::test]
async fn photos_reach_the_server_in_pieces_and_only_those_in_scope_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&roster_db(&dir)).await;
    scenario(&server).await;
    // Kept beside the file, whole, by hash.
    let kept = walk(&dir.path().join("huhujian.blobs"));
    assert_eq!(kept.len(), 2, "{kept:?}");
}

/// A province's shape: PostgreSQL, and the photos in an S3-compatible bucket (a real
/// one, `s3s-fs`, checking each request's signature).
#[tokio::test]
async fn photos_work_alike_on_postgres_with_an_s3_bucket() {
    let pg = PgDb::create().await;
    let s3 = S3Server::start();
    let store = server::store::Store::open(&pg.url).await.expect("open PostgreSQL");
    huhujian_tests::seed_store(&store, ROSTER_USERS, huhujian_tests::ROSTER).await;
    let server = TestServer::start_with_blobs(store, Path::new("postgres"), s3.blobs("county").await).await;
    scenario(&server).await;
    // Kept as objects under the prefix, whole, by hash; no piece left behind.
    let kept = walk(&s3.bucket_dir().join("county"));
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(files(&s3.bucket_dir().join("county/partial")), 0, "the pieces are deleted once the whole is kept");
}

/// The files under `dir`, at any depth.
fn files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.flatten().map(|e| if e.path().is_dir() { files(&e.path()) } else { 1 }).sum())
}

/// An object store that stops answering: the documents still sync, a piece is refused
/// at once with 503 (nothing half kept), and once it is back the upload goes on.
#[tokio::test]
async fn an_object_store_that_is_down_holds_up_only_the_photos() {
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let mut s3 = S3Server::start();
    let store = server::store::Store::open_sqlite(&db).unwrap();
    let server = TestServer::start_with_blobs(store, &db, s3.blobs("").await).await;
    let mut c1 = Phone::login(&server, "c1", "c1-phone").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let photo = jpeg(80_000, 5);
    let hash = attach(&mut c1, "H2", &photo, None, MediaType::Jpeg).await;
    let (s, _) = put(&c1, &hash, "H2", 0, photo.len(), &photo[..PIECE_BYTES]).await;
    assert_eq!(s, 200);

    s3.stop();
    let started = std::time::Instant::now();
    let (s, body) = put(&c1, &hash, "H2", PIECE_BYTES, photo.len(), &photo[PIECE_BYTES..2 * PIECE_BYTES]).await;
    assert_eq!((s, body["error"].as_str()), (503, Some("blob_store_unavailable")), "{body}");
    assert!(body["zh"].as_str().unwrap().contains("附件存储暂时无法访问"), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "refused within the retry budget");
    let resp = c1.post_json("/api/blobs/missing", &json!({ "hashes": [hash] })).await;
    assert_eq!(resp.status(), 503);
    // A visit edited meanwhile (another photo referenced) syncs as ever.
    attach(&mut c1, "H2", &jpeg(30_000, 6), None, MediaType::Jpeg).await;

    s3.restart();
    assert_eq!(missing(&c1, &[&hash]).await[..], [(hash.clone(), PIECE_BYTES as u64)], "the first piece was kept");
    let (s, held) = send_from(&c1, &hash, "H2", &photo, PIECE_BYTES).await;
    assert_eq!((s, held["complete"].as_bool()), (200, Some(true)), "{held}");
    assert_eq!(c1.get(&format!("/api/blobs/{hash}?household=H2")).await.bytes().await.unwrap().to_vec(), photo);
}

/// A bucket the server cannot use (a wrong key) stops `serve` before it listens, with
/// a message naming the bucket.
#[tokio::test]
async fn serve_refuses_a_bucket_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let s3 = S3Server::start();
    let mut vars = s3.vars();
    vars.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    vars.push(("AWS_SECRET_ACCESS_KEY".into(), "wrong".into()));
    let out = std::process::Command::new(server_binary())
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0", "--blobs", &s3.url("county")])
        .envs(vars)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("s3://photos/county") && said.contains("cannot be listed"), "{said}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
}

/// Every complete blob under `dir` (not `partial/`), each checked against its name.
fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for shard in std::fs::read_dir(dir).unwrap().flatten() {
        if shard.file_name() == "partial" {
            continue;
        }
        for sub in std::fs::read_dir(shard.path()).unwrap().flatten() {
            for file in std::fs::read_dir(sub.path()).unwrap().flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                assert_eq!(sha(&std::fs::read(file.path()).unwrap()), name, "a kept blob is whole");
                found.push(name);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_server_killed_while_pieces_arrive_never_serves_a_partial_photo() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("county.blobs");
    killed_while_pieces_arrive(&dir, &[], &[], || walk(&kept)).await;
}

/// The same with the photos in a bucket: no object but a whole one, ever.
#[tokio::test]
async fn a_server_killed_while_pieces_arrive_in_a_bucket_never_serves_a_partial_photo() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start();
    let (url, kept) = (s3.url("county"), s3.bucket_dir().join("county"));
    killed_while_pieces_arrive(&dir, &["--blobs", &url], &s3.vars(), || walk(&kept)).await;
}

/// Four SIGKILLs of `serve` (with `flags`, `env`) while pieces arrive; `kept` lists the
/// complete blobs, each checked against its name.
async fn killed_while_pieces_arrive(
    dir: &tempfile::TempDir,
    flags: &[&str],
    env: &[(String, String)],
    kept: impl Fn() -> Vec<String>,
) {
    let bin = server_binary();
    let db = dir.path().join("county.sqlite3");
    seed(&db, ROSTER_USERS, huhujian_tests::ROSTER);
    let log = dir.path().join("server.log");
    let photo = jpeg(300_000, 3);
    let mut hash = String::new();
    let mut rng = crate::crash::Rng(0x5048_4f54_4f53);
    for cycle in 0..4 {
        let process = ServerProcess::start_env(&bin, &db, &log, flags, env);
        let mut c1 = Phone::login_at(&process.base, "c1", "c1-phone").await.expect("login");
        if cycle == 0 {
            c1.want(&["H2"]);
            c1.sync().await;
            hash = attach(&mut c1, "H2", &photo, None, MediaType::Jpeg).await;
        }
        // Pieces go out one after another until the kill, a few milliseconds in.
        let from = missing(&c1, &[&hash]).await.first().map_or(photo.len(), |m| m.1 as usize);
        let (h, p) = (hash.clone(), photo.clone());
        let sender = tokio::spawn(async move { send_from(&c1, &h, "H2", &p, from).await });
        tokio::time::sleep(std::time::Duration::from_millis(5 + rng.next() % 40)).await;
        process.kill();
        let _ = sender.await;
        // Restarted: the photo is whole or absent, never part of it.
        let process = ServerProcess::start_env(&bin, &db, &log, flags, env);
        let c1 = Phone::login_at(&process.base, "c1", "c1-phone").await.expect("login");
        let resp = c1.get(&format!("/api/blobs/{hash}?household=H2")).await;
        match resp.status().as_u16() {
            404 => {}
            200 => assert_eq!(resp.bytes().await.unwrap().to_vec(), photo, "cycle {cycle}"),
            other => panic!("cycle {cycle}: {other}"),
        }
        kept();
        process.kill();
    }
    // Then it finishes where it stopped.
    let process = ServerProcess::start_env(&bin, &db, &log, flags, env);
    let c1 = Phone::login_at(&process.base, "c1", "c1-phone").await.expect("login");
    if let Some((_, have)) = missing(&c1, &[&hash]).await.first() {
        // Killed after the last piece but before the whole was checked, every byte is
        // held: a piece from there (empty) completes it.
        assert!(*have <= photo.len() as u64);
        let (s, held) = send_from(&c1, &hash, "H2", &photo, *have as usize).await;
        assert_eq!((s, held["complete"].as_bool()), (200, Some(true)), "{held}");
    }
    let resp = c1.get(&format!("/api/blobs/{hash}?household=H2")).await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), photo);
    assert_eq!(kept(), [hash]);
}

/// 保留期限: `prune-blobs` deletes what only visits older than the period reference,
/// keeps the rest, says what it would do on a dry run, and is audited.
#[tokio::test]
async fn the_retention_command_deletes_only_what_old_visits_alone_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let kept = dir.path().join("huhujian.blobs");
    retention(&db, Blobs::open(&Blobs::beside(&db)).unwrap(), || walk(&kept)).await;
}

/// The same with the photos in a bucket.
#[tokio::test]
async fn the_retention_command_works_alike_on_a_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let db = roster_db(&dir);
    let s3 = S3Server::start();
    let kept = s3.bucket_dir().join("county");
    retention(&db, s3.blobs("county").await, || walk(&kept)).await;
}

/// Three photos, one referenced only by a visit in 2019; `kept` lists what the store
/// holds.
async fn retention(db: &Path, blobs: Blobs, kept: impl Fn() -> Vec<String>) {
    let open = || server::store::Store::open_sqlite(db).unwrap();
    let server = TestServer::start_with_blobs(open(), db, blobs.clone()).await;
    let mut c1 = Phone::login(&server, "c1", "c1-phone").await;
    c1.want(&["H2"]);
    c1.sync().await;
    let (old, new, both) = (jpeg(40_000, 1), jpeg(40_000, 2), jpeg(40_000, 3));
    let old_hash = attach_to(&mut c1, "H2", "2019-03", &old, None, MediaType::Jpeg).await;
    let both_hash = attach_to(&mut c1, "H2", "2019-04", &both, None, MediaType::Jpeg).await;
    attach(&mut c1, "H2", &both, None, MediaType::Jpeg).await;
    let new_hash = attach(&mut c1, "H2", &new, None, MediaType::Jpeg).await;
    for (hash, bytes) in [(&old_hash, &old), (&new_hash, &new), (&both_hash, &both)] {
        let (s, held) = send_from(&c1, hash, "H2", bytes, 0).await;
        assert_eq!((s, held["complete"].as_bool()), (200, Some(true)));
    }
    server.stop().await;

    // An upload begun and never finished: dropped once it is older than the limit.
    let (unfinished, piece) = (sha(b"never finished"), jpeg(1000, 4));
    assert_eq!(blobs.put(&unfinished, 0, 5000, piece).await.unwrap(), server::blobs::Held::Partial(1000));
    assert_eq!(blobs.drop_stale(std::time::Duration::from_secs(3600), false).await.unwrap(), 0, "not old yet");
    // An object store's times are in whole seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(blobs.drop_stale(std::time::Duration::ZERO, true).await.unwrap(), 1);
    assert_eq!(blobs.held(&unfinished).await.unwrap(), server::blobs::Held::Partial(1000), "a dry run drops nothing");
    assert_eq!(blobs.drop_stale(std::time::Duration::ZERO, false).await.unwrap(), 1);
    assert_eq!(blobs.held(&unfinished).await.unwrap(), server::blobs::Held::Partial(0));

    let store = open();
    let now = shared::Period::of(shared::Date::in_china(server::auth::now()));
    let cutoff = now.plus_months(-5 * 12);
    let dry = server::blobs::retention::prune(&store, &blobs, cutoff, true, "admin").await.unwrap();
    assert_eq!((dry.deleted, dry.kept), (1, 2), "{dry:?}");
    assert_eq!(kept().len(), 3, "a dry run deletes nothing");
    let done = server::blobs::retention::prune(&store, &blobs, cutoff, false, "admin").await.unwrap();
    assert_eq!((done.deleted, done.bytes, done.kept), (1, old.len() as u64, 2));
    let mut left = kept();
    left.sort();
    let mut want = vec![new_hash.clone(), both_hash.clone()];
    want.sort();
    assert_eq!(left, want, "kept: the recent photo and the one a recent visit references too");
    store.close().await.unwrap();
    let audited =
        huhujian_tests::Peek::File(db.to_owned()).count("SELECT COUNT(*) FROM audit_log WHERE action = 'prune_blobs'");
    assert_eq!(audited, 1);

    // The pages then say the photo is gone; the document keeps its reference.
    let server = TestServer::start_with_blobs(open(), db, blobs).await;
    let c1 = Phone::login(&server, "c1", "c1-phone").await;
    assert_eq!(c1.get(&format!("/api/blobs/{old_hash}?household=H2")).await.status(), 404);
    assert_eq!(c1.get(&format!("/api/blobs/{new_hash}?household=H2")).await.status(), 200);
}

/// 写入规则 for evidence: what an attachment is stays as its cadre wrote it; another
/// cadre may only caption it or mark it removed, and adds their own under their name.
#[tokio::test]
async fn another_cadre_may_remove_an_attachment_but_not_rewrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&roster_db(&dir)).await;
    let mut c1 = Phone::login(&server, "c1", "c1-phone").await;
    c1.want(&["H1"]);
    c1.sync().await;
    let hash = attach(&mut c1, "H1", &jpeg(20_000, 5), None, MediaType::Jpeg).await;
    let period = shared::Period::of(shared::Date::in_china(server::auth::now())).to_string();
    let entry = entry_of(&hash).to_owned();
    let edit = |phone: &mut Phone, f: &dyn Fn(&mut Attachment)| {
        let at = server::auth::now();
        phone
            .docs
            .get_mut("H1")
            .unwrap()
            .edit(&Stamp::new("c2", "张华", at), |h| {
                f(h.visits.get_mut(&period).unwrap().attachments.get_mut(&entry).unwrap())
            })
            .expect("edit");
    };
    // c2 changes what the photo is: refused, the household only.
    let mut rogue = Phone::login(&server, "c2", "c2-rogue").await;
    rogue.want(&["H1"]);
    rogue.sync().await;
    edit(&mut rogue, &|a| a.kind = Some(EvidenceKind::Work));
    let report = rogue.sync().await;
    assert!(report.refused.get("H1").is_some_and(|r| r.code == "not_allowed"), "{:?}", report.refused);
    // c2 (a fresh phone) marks it removed and captions it: allowed.
    let mut c2 = Phone::login(&server, "c2", "c2-phone").await;
    c2.want(&["H1"]);
    c2.sync().await;
    edit(&mut c2, &|a| {
        a.removed = true;
        a.caption = "拍错了".into();
    });
    let report = c2.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    // An attachment added in someone else's name: refused.
    let mut forger = Phone::login(&server, "c2", "c2-forger").await;
    forger.want(&["H1"]);
    forger.sync().await;
    let forged = jpeg(9_000, 6);
    let a = Attachment { sha256: sha(&forged), by: "c1".into(), at: Some(1), ..Default::default() };
    forger
        .docs
        .get_mut("H1")
        .unwrap()
        .edit(&Stamp::new("c2", "张华", server::auth::now()), |h| {
            h.visits.get_mut(&period).unwrap().attachments.insert(entry_of(&a.sha256).to_owned(), a.clone());
        })
        .unwrap();
    let report = forger.sync().await;
    assert!(report.refused.get("H1").is_some_and(|r| r.code == "not_allowed"), "{:?}", report.refused);
    // The removed photo is neither taken nor served any more.
    let (s, body) = put(&c1, &hash, "H1", 0, 20_000, &jpeg(20_000, 5)).await;
    assert_eq!((s, body["error"].as_str()), (403, Some("blob_not_referenced")));
}

/// 户主签字确认 in coverage: of the households visited in person, those whose visit
/// carries the household head's sign-off are counted by site, grid and cadre (through
/// the kept per-grid totals and household by household alike), and the rest are listed.
async fn signed_coverage(server: &TestServer) {
    let mut c1 = Phone::login(server, "c1", "c1-phone").await;
    c1.want(&["H2", "H3"]);
    c1.sync().await;
    let period = shared::Period::of(shared::Date::in_china(server::auth::now())).to_string();
    let at = server::auth::now();
    let signature = jpeg(3000, 11);
    for id in ["H2", "H3"] {
        let doc = c1.docs.get_mut(id).expect("on the phone");
        doc.edit(&Stamp::new("c1", "李明", at), |h| {
            let v = h.visits.entry(period.clone()).or_default();
            v.mode = Some(shared::VisitMode::InPerson);
            if id == "H2" {
                let a = Attachment {
                    sha256: sha(&signature),
                    kind: Some(EvidenceKind::Signature),
                    media: Some(MediaType::Png),
                    size: Some(signature.len() as i64),
                    by: "c1".into(),
                    at: Some(at),
                    ..Attachment::default()
                };
                v.attachments.insert(entry_of(&a.sha256).to_owned(), a);
            }
        })
        .expect("edit");
    }
    let report = c1.sync().await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    let s1 = Phone::login(server, "s1", "desk").await;
    let cell = |rows: &Vec<Value>, key: &str| -> (u64, u64) {
        let row = rows.iter().find(|r| r["key"] == key).unwrap_or_else(|| panic!("{key}: {rows:?}"));
        (row["visited"].as_u64().unwrap(), row["signed"].as_u64().unwrap())
    };
    let rows: Vec<Value> = s1.get_json(&format!("/api/coverage?period={period}&by=site")).await;
    assert_eq!(cell(&rows, "阳光社区"), (2, 1), "from the kept totals");
    let rows: Vec<Value> = s1.get_json(&format!("/api/coverage?period={period}&by=grid&site=阳光社区")).await;
    assert_eq!((cell(&rows, "阳光社区 / 1栋"), cell(&rows, "阳光社区 / 2栋")), ((1, 1), (1, 0)));
    let rows: Vec<Value> = s1.get_json(&format!("/api/coverage?period={period}&by=cadre")).await;
    assert_eq!(cell(&rows, "c1"), (2, 1), "household by household");
    let report: Value = s1.get_json(&format!("/api/indicators?period={period}")).await;
    assert_eq!(report["indicators"]["signed"], 1);
    let unsigned: Vec<Value> = s1.get_json(&format!("/api/flagged?kind=unsigned&period={period}")).await;
    let ids: Vec<&str> = unsigned.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["H3"], "visited in person, not signed");

    // The sign-off removed: no longer counted.
    let doc = c1.docs.get_mut("H2").expect("on the phone");
    doc.edit(&Stamp::new("c1", "李明", server::auth::now()), |h| {
        let v = h.visits.get_mut(&period).expect("the visit");
        v.attachments.values_mut().for_each(|a| a.removed = true);
    })
    .expect("edit");
    c1.sync().await;
    let rows: Vec<Value> = s1.get_json(&format!("/api/coverage?period={period}&by=site")).await;
    assert_eq!(cell(&rows, "阳光社区"), (2, 0));
    let unsigned: Vec<Value> = s1.get_json(&format!("/api/flagged?kind=unsigned&period={period}")).await;
    assert_eq!(unsigned.len(), 2);
}

#[tokio::test]
async fn coverage_counts_the_visits_the_household_signed() {
    let dir = tempfile::tempdir().unwrap();
    signed_coverage(&TestServer::start(&roster_db(&dir)).await).await;
}

#[tokio::test]
async fn coverage_counts_the_visits_the_household_signed_on_postgres() {
    let pg = PgDb::create().await;
    signed_coverage(&crate::roster_server_on_postgres(&pg).await).await;
}
