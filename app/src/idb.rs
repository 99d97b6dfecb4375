//! The phone's durable store: IndexedDB database `huhujian` with three object stores
//! keyed by household id: `docs` (Automerge bytes), `sync` (encoded sync state) and
//! `rows` (the household list's row, with the heads it was computed from: a cache, so
//! that the list shows before the documents are read). A write resolves only when its
//! transaction has completed, so "saved" means on disk.

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

const NAME: &str = "huhujian";
/// 2 added `rows`.
const VERSION: u32 = 2;
/// Household documents.
pub const DOCS: &str = "docs";
/// Sync states.
pub const SYNC: &str = "sync";
/// The household list's rows (`ui::list`).
pub const ROWS: &str = "rows";

fn err(e: impl std::fmt::Debug) -> String {
    format!("IndexedDB: {e:?}")
}

/// Opens (creating) the database.
pub async fn open() -> Result<Database, String> {
    let factory = Factory::new().map_err(err)?;
    let mut request = factory.open(NAME, Some(VERSION)).map_err(err)?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            for store in [DOCS, SYNC, ROWS] {
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

/// Writes several (store, key, bytes) in one transaction; resolves when it is durable.
pub async fn put_many(db: &Database, items: &[(&str, String, Vec<u8>)]) -> Result<(), String> {
    if items.is_empty() {
        return Ok(());
    }
    let tx = db.transaction(&[DOCS, SYNC, ROWS], TransactionMode::ReadWrite).map_err(err)?;
    for (store, key, bytes) in items {
        let os = tx.object_store(store).map_err(err)?;
        let value: JsValue = Uint8Array::from(bytes.as_slice()).into();
        os.put(&value, Some(&JsValue::from_str(key))).map_err(err)?.await.map_err(err)?;
    }
    tx.commit().map_err(err)?.await.map_err(err)?;
    Ok(())
}
