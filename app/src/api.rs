//! Talking to the server: login, the household list, one batched sync round trip, and
//! JSON calls for the supervisor console (`get_json`, `post_json`, `post_raw`).

use gloo_net::http::Request;
use shared::api::{ErrorBody, HouseholdRow, LoginOk, LoginRequest};
use shared::wire::{self, Incoming, Outgoing};

use crate::session::Session;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No network, or the server did not answer.
    Offline,
    /// The session is no longer valid: log in again.
    Unauthorized,
    /// The server said no, with a message for people.
    Refused(String),
}

async fn refusal(resp: gloo_net::http::Response) -> ApiError {
    if resp.status() == 401 {
        return ApiError::Unauthorized;
    }
    match resp.json::<ErrorBody>().await {
        Ok(b) => ApiError::Refused(format!("{} / {}", b.zh, b.en)),
        Err(_) => ApiError::Refused(format!("HTTP {}", resp.status())),
    }
}

/// Logs in (needs the network once).
pub async fn login(login: &str, password: &str, device_id: &str) -> Result<Session, ApiError> {
    let body = LoginRequest { login: login.to_owned(), password: password.to_owned(), device_id: device_id.to_owned() };
    let resp = Request::post("/api/login")
        .json(&body)
        .map_err(|_| ApiError::Offline)?
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if resp.status() == 401 {
        // Wrong password here, not an expired session.
        return Err(match resp.json::<ErrorBody>().await {
            Ok(b) => ApiError::Refused(format!("{} / {}", b.zh, b.en)),
            Err(_) => ApiError::Refused("账号或密码错误 / Wrong login or password".into()),
        });
    }
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    let ok: LoginOk = resp.json().await.map_err(|_| ApiError::Offline)?;
    Ok(Session { token: ok.token, expires_at: ok.expires_at, user: ok.user })
}

/// The ids of the households this user may sync.
pub async fn household_ids(token: &str) -> Result<Vec<String>, ApiError> {
    let resp = Request::get("/api/households")
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    let rows: Vec<HouseholdRow> = resp.json().await.map_err(|_| ApiError::Offline)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// One batched sync round trip.
pub async fn sync(token: &str, batch: &[Outgoing]) -> Result<Vec<Incoming>, ApiError> {
    let body = wire::encode_request(batch);
    let resp = Request::post("/api/sync")
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/vnd.huhujian.sync")
        .body(js_sys::Uint8Array::from(body.as_slice()))
        .map_err(|_| ApiError::Offline)?
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    let bytes = resp.binary().await.map_err(|_| ApiError::Offline)?;
    wire::decode_response(&bytes).map_err(|e| ApiError::Refused(e.to_string()))
}

fn authorized(builder: gloo_net::http::RequestBuilder, token: &str) -> gloo_net::http::RequestBuilder {
    builder.header("Authorization", &format!("Bearer {token}"))
}

/// `GET path` with the session's token, decoded from JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(token: &str, path: &str) -> Result<T, ApiError> {
    let resp = authorized(Request::get(path), token).send().await.map_err(|_| ApiError::Offline)?;
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    resp.json().await.map_err(|e| ApiError::Refused(e.to_string()))
}

/// `GET path` with the session's token, as bytes (exports, photos).
pub async fn get_bytes(token: &str, path: &str) -> Result<Vec<u8>, ApiError> {
    let resp = authorized(Request::get(path), token).send().await.map_err(|_| ApiError::Offline)?;
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    resp.binary().await.map_err(|_| ApiError::Offline)
}

/// `POST path` with a JSON body; the answer's body is returned as text (may be empty).
pub async fn post_json(token: &str, path: &str, body: &impl serde::Serialize) -> Result<String, ApiError> {
    let resp = authorized(Request::post(path), token)
        .json(body)
        .map_err(|e| ApiError::Refused(e.to_string()))?
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if !resp.ok() {
        return Err(refusal(resp).await);
    }
    resp.text().await.map_err(|_| ApiError::Offline)
}

/// `POST path` with a JSON body, the answer decoded from JSON.
pub async fn post_json_as<T: serde::de::DeserializeOwned>(
    token: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, ApiError> {
    let text = post_json(token, path, body).await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Refused(e.to_string()))
}

/// `PUT path` with `bytes` as they are (a piece of a photo): the answer decoded from
/// JSON, or the server's refusal with its code.
pub async fn put_bytes_as<T: serde::de::DeserializeOwned>(
    token: &str,
    path: &str,
    bytes: &[u8],
) -> Result<Result<T, ErrorBody>, ApiError> {
    let resp = authorized(Request::put(path), token)
        .header("Content-Type", "application/octet-stream")
        .body(js_sys::Uint8Array::from(bytes))
        .map_err(|e| ApiError::Refused(format!("请求无法发出 / The request could not be made: {e}")))?
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    match resp.status() {
        401 => Err(ApiError::Unauthorized),
        200 => Ok(Ok(resp.json().await.map_err(|_| ApiError::Offline)?)),
        status => Ok(Err(resp.json::<ErrorBody>().await.unwrap_or_else(|_| ErrorBody {
            error: "http".into(),
            zh: format!("服务器答复 HTTP {status}"),
            en: format!("The server answered HTTP {status}"),
        }))),
    }
}

/// `POST path` with a raw body of `content_type`; returns (status, body text) for any
/// answer the server gave, so callers can read structured refusals (roster rows).
#[cfg(feature = "console")]
pub async fn post_raw(token: &str, path: &str, content_type: &str, body: &str) -> Result<(u16, String), ApiError> {
    post_body(token, Request::post(path), content_type, wasm_bindgen::JsValue::from_str(body)).await
}

/// `PUT path` with a JSON body: the status and the body's text (settings).
#[cfg(feature = "console")]
pub async fn put_json_raw(token: &str, path: &str, body: &str) -> Result<(u16, String), ApiError> {
    post_body(token, Request::put(path), "application/json", wasm_bindgen::JsValue::from_str(body)).await
}

/// POSTs `bytes` as they are (a roster file): the status and the body's text.
#[cfg(feature = "console")]
pub async fn post_bytes(token: &str, path: &str, content_type: &str, bytes: &[u8]) -> Result<(u16, String), ApiError> {
    post_body(token, Request::post(path), content_type, js_sys::Uint8Array::from(bytes).into()).await
}

#[cfg(feature = "console")]
async fn post_body(
    token: &str,
    request: gloo_net::http::RequestBuilder,
    content_type: &str,
    body: wasm_bindgen::JsValue,
) -> Result<(u16, String), ApiError> {
    let resp = authorized(request, token)
        .header("Content-Type", content_type)
        .body(body)
        .map_err(|e| ApiError::Refused(e.to_string()))?
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if resp.status() == 401 {
        return Err(ApiError::Unauthorized);
    }
    let status = resp.status();
    Ok((status, resp.text().await.map_err(|_| ApiError::Offline)?))
}

#[cfg(feature = "console")]
impl ApiError {
    /// The message for people.
    pub fn message(&self) -> String {
        match self {
            ApiError::Offline => "网络不可用 / No network".into(),
            ApiError::Unauthorized => "登录已过期，请重新登录 / The session expired; log in again".into(),
            ApiError::Refused(m) => m.clone(),
        }
    }
}
