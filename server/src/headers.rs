//! Security headers on every answer: a Content-Security-Policy for the app, framing,
//! sniffing, referrer, opener and permissions policies, and `Cache-Control: no-store`
//! on the API (personal data must not sit in shared caches).
//!
//! Trunk boots the wasm with an inline `<script type="module">` in `index.html`. Rather
//! than allow inline scripts, the policy lists the SHA-256 of each inline script of the
//! served `index.html`, read once at start-up: restart the server after deploying a new
//! build. `'wasm-unsafe-eval'` lets the page compile WebAssembly (and nothing else);
//! `blob:` images and the blob URLs of the console's downloads are allowed.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The headers every answer carries, built once at start-up.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

/// `Permissions-Policy`: the app's own pages may take a photo and one location fix (走访佐证,
/// on the cadre's tap); nothing embedded may, and nobody the microphone.
pub const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(), geolocation=(self)";

/// The policy for a page whose inline scripts have the hashes `script_hashes`
/// (`'sha256-…'` sources).
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for h in script_hashes {
        script_src.push(' ');
        script_src.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

/// The CSP source (`'sha256-<base64>'`) of every inline `<script>` of `html` (those
/// without `src`), in document order, each once. The hash is of the exact text between
/// the opening and the closing tag, as browsers compute it.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    // ASCII lower-casing keeps every byte offset, so offsets found in `lower` slice `html`.
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("<script") {
        let tag_start = from + found;
        let after_name = lower.as_bytes().get(tag_start + "<script".len()).copied();
        if !matches!(after_name, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/')) {
            from = tag_start + 1; // `<scripts>` or the like
            continue;
        }
        let Some(open_len) = lower[tag_start..].find('>') else { break };
        let body_start = tag_start + open_len + 1;
        let Some(body_len) = lower[body_start..].find("</script") else { break };
        let tag = &lower[tag_start + "<script".len()..body_start - 1];
        let external =
            tag.split(|c: char| c.is_ascii_whitespace() || c == '/').any(|a| a == "src" || a.starts_with("src="));
        if !external {
            let body = &html[body_start..body_start + body_len];
            let source = format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body)));
            if !out.contains(&source) {
                out.push(source);
            }
        }
        from = body_start + body_len;
    }
    out
}

impl SecurityHeaders {
    /// The headers for an app whose `index.html` is `index_html` (`None`: no app).
    pub fn new(index_html: Option<&str>) -> Self {
        let hashes = index_html.map(inline_script_hashes).unwrap_or_default();
        let csp = content_security_policy(&hashes);
        // The policy is ASCII by construction (base64 and fixed text).
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        Self { csp }
    }

    /// The headers for the app built into `app_dir`: its two bundles' `index.html`
    /// (the phone's, and the console's in `console/`) are read now, and the policy
    /// allows the inline scripts of both.
    pub fn for_app_dir(app_dir: Option<&Path>) -> Self {
        let Some(dir) = app_dir else { return Self::new(None) };
        let mut pages = String::new();
        for path in [dir.join("index.html"), dir.join("console").join("index.html")] {
            match std::fs::read_to_string(&path) {
                Ok(text) => pages.push_str(&text),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "no index.html: the CSP allows no inline script of it")
                }
            }
        }
        Self::new(Some(&pages))
    }

    /// The `Content-Security-Policy` sent.
    pub fn csp(&self) -> &str {
        self.csp.to_str().unwrap_or_default()
    }
}

/// The middleware: adds the headers to every answer (`no-store` to `/api/` ones).
pub async fn add(State(headers): State<Arc<SecurityHeaders>>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, headers.csp.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS_POLICY));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = "<head><script type=\"module\">\nboot();\n</script>\
                    <script src=\"/x.js\"></script><SCRIPT>a()</SCRIPT><scripts>no</scripts>\
                    <script>a()</script></head>";
        let b64 = |s: &str| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s)));
        assert_eq!(inline_script_hashes(html), [b64("\nboot();\n"), b64("a()")]);
        // A known value: echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            inline_script_hashes("<script>alert(1)</script>"),
            ["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
        );
    }

    #[test]
    fn the_policy_names_each_hash() {
        let csp = SecurityHeaders::new(Some("<script>alert(1)</script>")).csp().to_owned();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=';")
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(SecurityHeaders::new(None).csp(), content_security_policy(&[]));
    }

    #[test]
    fn the_policy_allows_both_bundles_inline_scripts() {
        let dir = std::env::temp_dir().join(format!("huhujian-csp-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("console")).unwrap();
        std::fs::write(dir.join("index.html"), "<script>phone()</script>").unwrap();
        std::fs::write(dir.join("console/index.html"), "<script>console()</script>").unwrap();
        let csp = SecurityHeaders::for_app_dir(Some(&dir)).csp().to_owned();
        std::fs::remove_dir_all(&dir).unwrap();
        for script in ["phone()", "console()"] {
            assert!(csp.contains(&inline_script_hashes(&format!("<script>{script}</script>"))[0]), "{script}: {csp}");
        }
        assert_eq!(SecurityHeaders::for_app_dir(None).csp(), content_security_policy(&[]));
    }
}
