//! The phone's durable store: one IndexedDB database per login (`session::db_name`:
//! another cadre on the same phone never reads it) with object stores keyed
//! by household id: `docs` (Automerge bytes), `sync` (encoded sync state) and `rows`
//! (the household list's row, with the heads it was computed from: a cache, so that
//! the list shows before the documents are read); and `drafts` (visits in progress,
//! keyed by login, household and period: `drafts::key`); `blobs` (the bytes of photos
//! and signatures, keyed by SHA-256) and `sent` (the hashes the server holds whole).
//! A write resolves only when its transaction has completed, so "saved" means on disk.

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

/// 2 added `rows`, 3 `drafts`, 4 `blobs` and `sent`.
const VERSION: u32 = 4;
/// Household documents.
pub const DOCS: &str = "docs";
/// Sync states.
pub const SYNC: &str = "sync";
/// The household list's rows (`ui::list`).
pub const ROWS: &str = "rows";
/// Visits in progress (`drafts`).
pub const DRAFTS: &str = "drafts";
/// Photos' and signatures' bytes, by SHA-256 (`blobs`).
pub const BLOBS: &str = "blobs";
/// The hashes of those the server holds whole (the value is empty).
pub const SENT: &str = "sent";
/// Every store, in the scope of every write.
const STORES: [&str; 6] = [DOCS, SYNC, ROWS, DRAFTS, BLOBS, SENT];

fn err(e: impl std::fmt::Debug) -> String {
    format!("IndexedDB: {e:?}")
}

/// Opens (creating) database `name` (one per login: `session::db_name`).
pub async fn open(name: &str) -> Result<Database, String> {
    let factory = Factory::new().map_err(err)?;
    let mut request = factory.open(name, Some(VERSION)).map_err(err)?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            for store in STORES {
                if !db.store_names().iter().any(|s| s == store) {
                    let _ = db.create_object_store(store, ObjectStoreParams::new());
                }
            }
        }
    });
    request.await.map_err(err)
}

/// Every (key, bytes) of `store`.
pub async fn all(db: &Database, store: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let tx = db.transaction(&[store], TransactionMode::ReadOnly).map_err(err)?;
    let os = tx.object_store(store).map_err(err)?;
    let keys = os.get_all_keys(None, None).map_err(err)?.await.map_err(err)?;
    let values = os.get_all(None, None).map_err(err)?.await.map_err(err)?;
    let out = keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| Some((k.as_string()?, Uint8Array::new(&v).to_vec())))
        .collect();
    tx.await.map_err(err)?;
    Ok(out)
}

/// Every key of `store`, without reading the values.
pub async fn keys(db: &Database, store: &str) -> Result<Vec<String>, String> {
    let tx = db.transaction(&[store], TransactionMode::ReadOnly).map_err(err)?;
    let os = tx.object_store(store).map_err(err)?;
    let keys = os.get_all_keys(None, None).map_err(err)?.await.map_err(err)?;
    tx.await.map_err(err)?;
    Ok(keys.into_iter().filter_map(|k| k.as_string()).collect())
}

/// The bytes under `key` in `store`, if any.
pub async fn get(db: &Database, store: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
    let tx = db.transaction(&[store], TransactionMode::ReadOnly).map_err(err)?;
    let os = tx.object_store(store).map_err(err)?;
    let value = os.get(JsValue::from_str(key)).map_err(err)?.await.map_err(err)?;
    tx.await.map_err(err)?;
    Ok(value.filter(|v| !v.is_undefined()).map(|v| Uint8Array::new(&v).to_vec()))
}

/// Writes several (store, key, bytes) in one transaction; resolves when it is durable.
pub async fn put_many(db: &Database, items: &[(&str, String, Vec<u8>)]) -> Result<(), String> {
    write(db, items, &[]).await
}

/// Writes `puts` and deletes `deletes` (store, key) in one transaction: both or
/// neither. Resolves when it is durable.
pub async fn write(db: &Database, puts: &[(&str, String, Vec<u8>)], deletes: &[(&str, String)]) -> Result<(), String> {
    if puts.is_empty() && deletes.is_empty() {
        return Ok(());
    }
    let tx = db.transaction(&STORES, TransactionMode::ReadWrite).map_err(err)?;
    for (store, key, bytes) in puts {
        let os = tx.object_store(store).map_err(err)?;
        let value: JsValue = Uint8Array::from(bytes.as_slice()).into();
        os.put(&value, Some(&JsValue::from_str(key))).map_err(err)?.await.map_err(err)?;
    }
    for (store, key) in deletes {
        let os = tx.object_store(store).map_err(err)?;
        os.delete(JsValue::from_str(key)).map_err(err)?.await.map_err(err)?;
    }
    tx.commit().map_err(err)?.await.map_err(err)?;
    Ok(())
}
