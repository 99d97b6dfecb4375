//! 走访照片 on the wire (issue 20): 20 photos of one visit, each with its thumbnail,
//! uploaded as the app uploads them (PROTOCOL.md §4.7: one request for what the server
//! lacks, then 32 KiB pieces) through an emulated Slow 3G link; the same with the
//! connection cut twice in the middle of a piece (the piece is lost, the next request
//! asks where to go on); and the phone's storage for a household with 12 visits of 2
//! photos each. The photos are incompressible bytes of the app's sizes (a JPEG of at
//! most 150 KB and a thumbnail of about 8 KB; `evidence.mjs` measures what the app
//! really makes of a camera photo).

use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use shared::api::blob::PIECE_BYTES;
use shared::api::{BlobHeld, BlobsMissing};
use shared::evidence::{Attachment, EvidenceKind, MediaType, entry_of};
use shared::{HouseholdDoc, Stamp};
use tokio::io::AsyncWriteExt;

use super::link::{Link, Shape};
use super::sync::{CADRE, copy_of, county, current_period};
use super::{Part, Row};
use crate::{Phone, TestServer};

/// Photos uploaded.
const PHOTOS: usize = 20;
/// A photo's size: under the app's 150 KB aim.
const PHOTO_BYTES: usize = 140 * 1024;
/// A thumbnail's.
const THUMB_BYTES: usize = 8 * 1024;

fn hex(bytes: &[u8]) -> String {
    server::blobs::hex(&Sha256::digest(bytes))
}

/// `n` incompressible bytes that start like a JPEG.
fn jpeg(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    while b.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.truncate(n);
    b
}

/// A photo and its thumbnail.
struct Picture {
    photo: Vec<u8>,
    thumb: Vec<u8>,
}

impl Picture {
    fn new(i: usize) -> Self {
        Self { photo: jpeg(PHOTO_BYTES, i as u64 * 2 + 1), thumb: jpeg(THUMB_BYTES, i as u64 * 2 + 2) }
    }

    fn attachment(&self, at: i64) -> Attachment {
        Attachment {
            sha256: hex(&self.photo),
            thumb: hex(&self.thumb),
            kind: Some(EvidenceKind::Household),
            media: Some(MediaType::Jpeg),
            size: Some(self.photo.len() as i64),
            caption: String::new(),
            by: CADRE.into(),
            at: Some(at),
            removed: false,
        }
    }
}

/// Adds `pictures` to this month's visit of `id` and syncs the document.
async fn attach(phone: &mut Phone, id: &str, pictures: &[Picture]) {
    let at = server::auth::now();
    let period = current_period().to_string();
    let stamp = Stamp::new(CADRE, "李明", at);
    phone
        .docs
        .get_mut(id)
        .expect("household")
        .edit(&stamp, |h| {
            let v = h.visits.entry(period.clone()).or_default();
            for p in pictures {
                let a = p.attachment(at);
                v.attachments.insert(entry_of(&a.sha256).to_owned(), a);
            }
        })
        .expect("edit");
    let report = phone.try_sync().await.expect("sync");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}

/// Cuts the link in the middle of a piece: the request's headers and half its body go
/// out, then the connection closes (what a 2G drop does to a request in flight).
async fn cut_piece(link: &Link, phone: &Phone, path: &str, piece: &[u8]) -> usize {
    let mut stream = tokio::net::TcpStream::connect(link.addr).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        link.addr,
        phone.token,
        piece.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let half = piece.len() / 2;
    stream.write_all(&piece[..half]).await.expect("write");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
    half
}

/// What one upload of every picture cost.
struct Upload {
    took: Duration,
    requests: usize,
    /// Body bytes sent beyond the pictures' own (lost to cuts).
    resent: usize,
}

/// Uploads every blob of `pictures` the way the app does, cutting the link in the
/// middle of the pieces numbered in `cuts`.
async fn upload(link: &Link, phone: &Phone, id: &str, pictures: &[Picture], cuts: &[usize]) -> Upload {
    let blobs: Vec<&[u8]> = pictures.iter().flat_map(|p| [p.photo.as_slice(), p.thumb.as_slice()]).collect();
    let hashes: Vec<String> = blobs.iter().map(|b| hex(b)).collect();
    let started = Instant::now();
    let (mut requests, mut resent, mut piece_no) = (0, 0, 0);
    loop {
        let resp = phone.post_json("/api/blobs/missing", &serde_json::json!({ "hashes": hashes })).await;
        requests += 1;
        let missing: BlobsMissing = resp.json().await.expect("missing");
        if missing.missing.is_empty() {
            break;
        }
        'blobs: for m in missing.missing {
            let i = hashes.iter().position(|h| *h == m.sha256).expect("asked");
            let bytes = blobs[i];
            let mut have = m.have as usize;
            while have < bytes.len() {
                let end = (have + PIECE_BYTES).min(bytes.len());
                let path = format!("/api/blobs/{}?household={id}&offset={have}&total={}", m.sha256, bytes.len());
                piece_no += 1;
                if cuts.contains(&piece_no) {
                    resent += cut_piece(link, phone, &path, &bytes[have..end]).await;
                    requests += 1;
                    // The app's sync ends there; the next one asks again.
                    break 'blobs;
                }
                let resp = phone.put_bytes(&path, bytes[have..end].to_vec()).await;
                requests += 1;
                let held: BlobHeld = resp.json().await.expect("piece answer");
                have = held.have as usize;
            }
        }
    }
    Upload { took: started.elapsed(), requests, resent }
}

/// Measures the photo figures in `work`.
pub async fn run(work: &Path) -> Part {
    let (seeded, _) = county(work);
    let pictures: Vec<Picture> = (0..PHOTOS).map(Picture::new).collect();
    let stored: usize = pictures.iter().map(|p| p.photo.len() + p.thumb.len()).sum();
    let shape = Shape::SLOW_3G;
    let mut results = Vec::new();
    for (name, cuts) in [("plain", &[][..]), ("cut", &[14usize, 60][..])] {
        let server = TestServer::start(&copy_of(&seeded, &work.join(format!("photos-{name}.sqlite3")))).await;
        let mut phone = Phone::login_with(&server.url(""), CADRE, server::demo::DEMO_PASSWORD, "bench-photos")
            .await
            .expect("login");
        let id = phone.list().await.into_iter().next().expect("a household");
        phone.want(&[&id]);
        phone.try_sync().await.expect("download");
        attach(&mut phone, &id, &pictures).await;
        let link = Link::start(server.addr, Some(shape)).await.expect("link");
        phone.set_base(&link.url());
        link.counters.reset();
        let up = upload(&link, &phone, &id, &pictures, cuts).await;
        let (bytes_up, bytes_down) = link.counters.bytes();
        results.push((up, bytes_up, bytes_down));
        drop(link);
        server.stop().await;
    }
    let (plain, plain_up, plain_down) = &results[0];
    let (cut, cut_up, _) = &results[1];
    let per_photo = (plain_up + plain_down) as f64 / PHOTOS as f64;
    let floor = shape.floor(plain_up + plain_down, plain.requests as u64);
    let storage = phone_storage(&pictures[..2]);
    let rows = vec![
        Row {
            figure: format!(
                "bytes per photo on the wire ({} KB photo + {} KB thumbnail, in {} KiB pieces)",
                PHOTO_BYTES / 1024,
                THUMB_BYTES / 1024,
                PIECE_BYTES / 1024
            ),
            value: format!(
                "{:.1} KB ({:.1} KB stored; HTTP headers and answers {:.1} %)",
                per_photo / 1024.0,
                (stored / PHOTOS) as f64 / 1024.0,
                (per_photo / (stored / PHOTOS) as f64 - 1.0) * 100.0
            ),
            target: "report".into(),
            met: None,
            floor: None,
            detail: "counted by the proxy, both ways; a photo is incompressible, so nothing is gzipped".into(),
        },
        Row {
            figure: format!("time to upload {PHOTOS} photos with their thumbnails through an emulated Slow 3G link"),
            value: format!("{:.1} s ({} requests)", plain.took.as_secs_f64(), plain.requests),
            target: "report".into(),
            met: None,
            floor: Some(format!(
                "{:.1} s: {:.0} KB ÷ 400 kbit/s + {} × 400 ms",
                floor.as_secs_f64(),
                (plain_up + plain_down) as f64 / 1024.0,
                plain.requests
            )),
            detail: "one request asks what is missing, then one piece per request, one after another".into(),
        },
        Row {
            figure: "the same with the connection cut twice in the middle of a piece".into(),
            value: format!(
                "{:.1} s; {:.1} KB sent again after the cuts ({:.1} KB a cut), {:.1} KB more on the wire",
                cut.took.as_secs_f64(),
                cut.resent as f64 / 1024.0,
                cut.resent as f64 / 2048.0,
                (*cut_up as f64 - *plain_up as f64) / 1024.0
            ),
            target: format!("≤ one piece ({} KiB) a cut", PIECE_BYTES / 1024),
            met: Some(cut.resent / 2 <= PIECE_BYTES),
            floor: None,
            detail: "the piece in flight is lost; the next request asks where to go on, and only it is sent again"
                .into(),
        },
        Row {
            figure: "phone storage for a household with 12 visits of 2 photos each".into(),
            value: format!(
                "{:.1} MB ({:.1} KB document, {:.1} MB photos and thumbnails); once sent, {:.2} MB",
                (storage.0 + storage.1) as f64 / 1e6,
                storage.0 as f64 / 1024.0,
                storage.1 as f64 / 1e6,
                (storage.0 + storage.2) as f64 / 1e6
            ),
            target: "report".into(),
            met: None,
            floor: None,
            detail: "the document with 24 references as the phone saves it, and the bytes it keeps by hash; once the \
                     server holds them, the phone keeps full photos of this month's and last month's visits only, \
                     thumbnails of all"
                .into(),
        },
    ];
    Part {
        part: "photos".into(),
        rows,
        notes: vec![format!(
            "photos: {PHOTOS} incompressible {} KB \"JPEGs\" and {} KB thumbnails; the cuts fall in pieces 14 and 60",
            PHOTO_BYTES / 1024,
            THUMB_BYTES / 1024
        )],
    }
}

/// (document, pictures, pictures once sent) in bytes for a household with 12 visits,
/// each with 2 photos of `pair`'s sizes.
fn phone_storage(pair: &[Picture]) -> (usize, usize, usize) {
    let stamp = Stamp::new(CADRE, "李明", 1_760_000_000);
    let mut doc = HouseholdDoc::create("5323250101001", shared::automerge::ActorId::random(), &stamp).expect("create");
    let now = current_period();
    for back in 0..12 {
        let period = now.plus_months(-back).to_string();
        doc.edit(&stamp, |h| {
            let v = h.visits.entry(period.clone()).or_default();
            v.mode = Some(shared::VisitMode::InPerson);
            for (i, p) in pair.iter().enumerate() {
                // Each month's own photos: a different hash.
                let mut a = p.attachment(1_760_000_000 + i64::from(back) * 2_600_000);
                a.sha256 = hex(format!("{period}-{i}").as_bytes());
                v.attachments.insert(entry_of(&a.sha256).to_owned(), a);
            }
        })
        .expect("visit");
    }
    let document = doc.save().len();
    let pictures = 12 * pair.iter().map(|p| p.photo.len() + p.thumb.len()).sum::<usize>();
    // Once all are sent, the photos the phone lets go of (`evidence::spare`: those of
    // visits before last month) leave only their thumbnails.
    let household = doc.household().expect("household");
    let spared = shared::evidence::spare([&household], now, |_| true).len();
    let photo_bytes = pair.iter().map(|p| p.photo.len()).sum::<usize>() / pair.len().max(1);
    (document, pictures, pictures - spared * photo_bytes)
}
