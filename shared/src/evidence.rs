//! 走访佐证 (evidence of a visit): photos, the household head's sign-off and a location
//! fix, every piece optional (国办函〔2026〕12号 forbids making officials upload work
//! photos or location tracks), each kind turned on or off by the county
//! ([`EvidenceSettings`]). The document holds only references: an attachment's bytes
//! are kept on the phone and on the server by their SHA-256 (PROTOCOL.md §4.7).

use crate::label::coded_enum;

/// The most bytes one attachment may have (a photo is encoded to at most 150 KB; a
/// phone that cannot get there keeps the smallest it made, up to this).
pub const MAX_BLOB_BYTES: usize = 512 << 10;
/// The most bytes a thumbnail may have (the phone aims at about 8 KB).
pub const MAX_THUMB_BYTES: usize = 64 << 10;
/// The most attachments (removed ones included) one visit may reference.
pub const MAX_ATTACHMENTS: usize = 30;
/// The longest edge of a photo as the phone keeps it, in pixels.
pub const PHOTO_EDGE: u32 = 1280;
/// What the phone aims a photo's JPEG at, in bytes.
pub const PHOTO_TARGET_BYTES: usize = 150 * 1024;
/// The longest edge of a photo's thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 160;

coded_enum! {
    /// 佐证类别: what an attachment shows.
    pub enum EvidenceKind {
        Household = ("household", "户况照片", "The household"),
        Document = ("document", "证件材料", "A document"),
        Work = ("work", "务工证明", "Proof of work"),
        Other = ("other", "其他", "Other"),
        Signature = ("signature", "户主签字", "The household head's signature"),
        SignedForm = ("signed_form", "签字确认表", "The signed paper form"),
    }
}

impl EvidenceKind {
    /// The kinds a cadre picks for a photo.
    pub const PHOTO_KINDS: [EvidenceKind; 5] = [
        EvidenceKind::Household,
        EvidenceKind::Document,
        EvidenceKind::Work,
        EvidenceKind::SignedForm,
        EvidenceKind::Other,
    ];
    /// Whether an attachment of this kind is the household's confirmation (户主签字确认).
    pub fn is_sign_off(self) -> bool {
        matches!(self, EvidenceKind::Signature | EvidenceKind::SignedForm)
    }
}

coded_enum! {
    /// An attachment's format, told by its content (the server checks the bytes).
    pub enum MediaType {
        Jpeg = ("jpeg", "JPEG 图片", "JPEG image"),
        Png = ("png", "PNG 图片", "PNG image"),
    }
}

impl MediaType {
    /// The MIME type the server answers with.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
        }
    }
    /// The format `bytes` hold, by their first bytes (their "magic"), or `None`.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(MediaType::Png)
        } else {
            None
        }
    }
}

/// 佐证: one photo or signature referenced by a visit, under
/// `v/<P>/a/<entry>/<field>`, entry = the first 32 hex digits of its SHA-256 (the same
/// picture added twice is one entry). Never deleted: a cadre's removal sets `removed`,
/// so an addition made concurrently elsewhere is never lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Attachment {
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    pub sha256: String,
    /// SHA-256 of its thumbnail (photos; empty for a signature).
    pub thumb: String,
    /// What it shows.
    pub kind: Option<EvidenceKind>,
    /// Its format.
    pub media: Option<MediaType>,
    /// Its size in bytes.
    pub size: Option<i64>,
    /// 说明 (optional caption).
    pub caption: String,
    /// Who added it (login).
    pub by: String,
    /// When, Unix seconds.
    pub at: Option<i64>,
    /// Removed by a cadre (kept, hidden).
    pub removed: bool,
}

/// The entry an attachment is kept under: the first 32 hex digits of its SHA-256.
pub fn entry_of(sha256: &str) -> &str {
    sha256.get(..32).unwrap_or(sha256)
}

/// Whether `s` is a SHA-256 as the document and the blob API write it.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 走访定位: one fix taken when the cadre asked for it (WGS-84), under `v/<P>/loc/…`.
/// No tracking and no distance rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Location {
    /// Latitude in millionths of a degree (north positive).
    pub lat: Option<i64>,
    /// Longitude in millionths of a degree (east positive).
    pub lon: Option<i64>,
    /// Accuracy radius, metres.
    pub accuracy: Option<i64>,
    /// When the fix was taken, Unix seconds.
    pub at: Option<i64>,
}

impl Location {
    /// Whether a fix is recorded.
    pub fn is_set(&self) -> bool {
        self.lat.is_some() && self.lon.is_some()
    }
    /// `26.583012, 104.832110` as people read coordinates.
    pub fn degrees(&self) -> Option<(f64, f64)> {
        Some((self.lat? as f64 / 1e6, self.lon? as f64 / 1e6))
    }
}

/// 佐证设置: which kinds of evidence the county offers its cadres. Each is optional on
/// every visit; a kind turned off is not shown at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct EvidenceSettings {
    /// 走访照片
    pub photos: bool,
    /// 户主签字确认 (on the screen, or a photo of the signed form)
    pub signature: bool,
    /// 走访定位 (one fix, on the cadre's tap)
    pub location: bool,
}

impl Default for EvidenceSettings {
    /// Photos and the sign-off offered, the location not (the most personal of the three).
    fn default() -> Self {
        Self { photos: true, signature: true, location: false }
    }
}

impl EvidenceSettings {
    /// Whether any kind is offered.
    pub fn any(&self) -> bool {
        self.photos || self.signature || self.location
    }
}

/// The size a picture shows at (EXIF orientation applied: a portrait photo that a
/// camera stored sideways is taller than wide), read from the first bytes of a JPEG or
/// PNG file (a JPEG's Exif and frame header come before its image data), without
/// decoding it; `None` for any other format or when the header is not among `head`.
pub fn image_size(head: &[u8]) -> Option<(u32, u32)> {
    match MediaType::sniff(head)? {
        MediaType::Png => {
            let be32 = |i: usize| Some(u32::from_be_bytes(head.get(i..i + 4)?.try_into().ok()?));
            (head.get(12..16)? == b"IHDR").then_some(())?;
            Some((be32(16)?, be32(20)?))
        }
        MediaType::Jpeg => jpeg_size(head),
    }
}

fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?));
    let (mut i, mut turned) = (2, false);
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(be16(i + 2)?);
        match marker {
            // APP1 Exif: the orientation.
            0xE1 if b.get(i + 4..i + 10) == Some(b"Exif\0\0") => {
                turned = matches!(exif_orientation(b.get(i + 10..i + 2 + len).unwrap_or(&b[i + 10..])), Some(5..=8));
            }
            // Start of frame (baseline, progressive, …; not DHT, JPG, DAC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let (h, w) = (u32::from(be16(i + 5)?), u32::from(be16(i + 7)?));
                return Some(if turned { (h, w) } else { (w, h) });
            }
            0xDA | 0xD9 => return None,
            _ => {}
        }
        i += 2 + len;
    }
}

/// The Exif orientation (1–8) in a TIFF block, from IFD0's tag 0x0112.
fn exif_orientation(t: &[u8]) -> Option<u16> {
    let little = match t.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |i: usize| {
        let x: [u8; 2] = t.get(i..i + 2)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(x) } else { u16::from_be_bytes(x) })
    };
    let u32_at = |i: usize| {
        let x: [u8; 4] = t.get(i..i + 4)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(x) } else { u32::from_be_bytes(x) })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries.min(64)).find_map(|k| {
        let e = ifd + 2 + 12 * k;
        (u16_at(e)? == 0x0112).then(|| u16_at(e + 8)).flatten()
    })
}

/// `(w, h)` scaled down so that its longer edge is at most `edge` (never up).
pub fn fit((w, h): (u32, u32), edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= edge || long == 0 {
        return (w.max(1), h.max(1));
    }
    let scale = |x: u32| ((u64::from(x) * u64::from(edge) + u64::from(long) / 2) / u64::from(long)).max(1) as u32;
    (scale(w), scale(h))
}

/// The full-size photos a phone may let go of, of those it holds that the server holds
/// whole (`spared`): the ones no visit of `current` or the month before references.
/// Their thumbnails stay, so every visit still shows offline; signatures, which have no
/// thumbnail (and are a few KB), stay too. Only what a visit references is counted: a
/// picture no document names yet may belong to a visit being written.
pub fn spare<'a>(
    households: impl IntoIterator<Item = &'a crate::Household>,
    current: crate::Period,
    spared: impl Fn(&str) -> bool,
) -> Vec<String> {
    let recent = current.plus_months(-1).to_string();
    let mut newest: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for h in households {
        for (period, v) in &h.visits {
            for a in v.attachments.values().filter(|a| !a.thumb.is_empty()) {
                let slot = newest.entry(a.sha256.as_str()).or_insert(period.as_str());
                *slot = (*slot).max(period.as_str());
            }
        }
    }
    newest
        .into_iter()
        .filter(|(hash, period)| *period < recent.as_str() && spared(hash))
        .map(|(h, _)| h.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(MediaType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(MediaType::Jpeg));
        assert_eq!(MediaType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(MediaType::Png));
        assert_eq!(MediaType::sniff(b"GIF89a"), None);
        assert_eq!(MediaType::sniff(b"RIFF\0\0\0\0WEBP"), None);
        assert_eq!(MediaType::sniff(&[]), None);
    }

    /// A JPEG header: SOI, an Exif APP1 with `orientation` (big-endian TIFF), then a
    /// baseline frame of `w` × `h`.
    fn jpeg_head(w: u16, h: u16, orientation: Option<u16>) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        if let Some(o) = orientation {
            let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
            tiff.extend([0, 1]); // one entry
            tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1]);
            tiff.extend(o.to_be_bytes());
            tiff.extend([0, 0, 0, 0, 0, 0]);
            let len = (2 + 6 + tiff.len()) as u16;
            b.extend([0xFF, 0xE1]);
            b.extend(len.to_be_bytes());
            b.extend(b"Exif\0\0");
            b.extend(tiff);
        }
        b.extend([0xFF, 0xDB, 0, 4, 0, 0]); // a quantisation table, skipped
        b.extend([0xFF, 0xC0, 0, 11, 8]);
        b.extend(h.to_be_bytes());
        b.extend(w.to_be_bytes());
        b.extend([1, 1, 0x11, 0]);
        b.extend([0xFF, 0xDA]);
        b
    }

    #[test]
    fn a_picture_s_size_is_read_from_its_header_turned_as_it_shows() {
        assert_eq!(image_size(&jpeg_head(4000, 3000, None)), Some((4000, 3000)));
        assert_eq!(image_size(&jpeg_head(4000, 3000, Some(1))), Some((4000, 3000)));
        // Stored sideways (6: turn 90°): it shows portrait.
        assert_eq!(image_size(&jpeg_head(4000, 3000, Some(6))), Some((3000, 4000)));
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(640u32.to_be_bytes());
        png.extend(480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        assert_eq!(image_size(b"GIF89a"), None);
        // Cut before the frame header: unknown, not a panic.
        let head = jpeg_head(4000, 3000, Some(6));
        for n in 0..head.len() - 12 {
            assert_eq!(image_size(&head[..n]), None, "{n}");
        }
    }

    #[test]
    fn pictures_fit_the_long_edge_and_are_never_enlarged() {
        assert_eq!(fit((4000, 3000), 1280), (1280, 960));
        assert_eq!(fit((3000, 4000), 1280), (960, 1280));
        assert_eq!(fit((800, 600), 1280), (800, 600));
        assert_eq!(fit((4000, 3), 160), (160, 1));
    }

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        let h = "a".repeat(64);
        assert!(is_sha256(&h));
        assert_eq!(entry_of(&h).len(), 32);
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256(&"a".repeat(63)));
        assert!(!is_sha256(&"g".repeat(64)));
    }

    #[test]
    fn a_phone_spares_full_photos_of_older_visits_the_server_holds() {
        let photo = |n: u8, thumb: bool| Attachment {
            sha256: format!("{n:02x}").repeat(32),
            thumb: if thumb { "ee".repeat(32) } else { String::new() },
            kind: Some(if thumb { EvidenceKind::Household } else { EvidenceKind::Signature }),
            ..Attachment::default()
        };
        let mut h = crate::Household::default();
        let mut visit = |period: &str, a: Attachment| {
            h.visits.entry(period.into()).or_default().attachments.insert(entry_of(&a.sha256).to_owned(), a);
        };
        visit("2026-09", photo(1, true)); // old: spared
        visit("2026-09", photo(2, true)); // old, but the server lacks it
        visit("2026-09", photo(3, false)); // an old signature: no thumbnail, kept
        visit("2026-10", photo(4, true)); // last month: kept
        visit("2026-09", photo(5, true)); // old, and this month's visit shows it again
        visit("2026-11", photo(5, true));
        let current: crate::Period = "2026-11".parse().unwrap();
        let lacking = "02".repeat(32);
        let spared = spare([&h], current, |hash| hash != lacking);
        assert_eq!(spared, ["01".repeat(32)]);
    }
}
