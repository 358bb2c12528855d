//! The admin API tests and demos use: `/_sandbox/...` on the same port.
//!
//! - `GET /_sandbox/health` → `{"ok": true, "account": …, "region": …, "models": "botocore 1.44.18"}`
//! - `GET /_sandbox/requests` → every request (service, operation, status, error, latency); `DELETE` clears
//! - `GET|PUT|DELETE /_sandbox/faults` → the active fault rules (JSON array of `Fault`)
//! - `GET|PUT /_sandbox/state` → the whole emulated account (JSON)
//! - `POST /_sandbox/emr/events` → plays out a [`ClusterEvent`]: managed
//!   scaling or a scheduler moving a fleet's capacity, a cluster failing
//!   (TERMINATED_WITH_ERRORS with a reason), Spot instances reclaimed

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use std::sync::Mutex;

use crate::context::lock;
use crate::emr::ClusterEvent;
use crate::faults::{Fault, Faults};
use crate::state::{RequestRecord, World};

/// What the admin API reads and changes of the running sandbox.
pub(crate) struct Admin<'a> {
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) world: &'a Mutex<World>,
    pub(crate) faults: &'a Mutex<Faults>,
    pub(crate) log: &'a Mutex<Vec<RequestRecord>>,
    /// Plays out a cluster event (the server knows the time and the settings it needs).
    pub(crate) play: &'a dyn Fn(&ClusterEvent) -> Result<(), String>,
}

pub(crate) fn handle(shared: &Admin<'_>, method: &Method, path: &str, body: &[u8]) -> Response {
    let result: Result<serde_json::Value, (StatusCode, String)> = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_sandbox/health") => Ok(serde_json::json!({
            "ok": true,
            "account": shared.account,
            "region": shared.region,
            "models": format!("botocore {}", crate::model::models().botocore),
        })),
        ("GET", "/_sandbox/requests") => Ok(serde_json::to_value(&*lock(shared.log)).unwrap_or_default()),
        ("DELETE", "/_sandbox/requests") => {
            lock(shared.log).clear();
            Ok(serde_json::json!({ "cleared": true }))
        }
        ("GET", "/_sandbox/faults") => Ok(serde_json::to_value(&lock(shared.faults).rules).unwrap_or_default()),
        ("PUT", "/_sandbox/faults") => match serde_json::from_slice::<Vec<Fault>>(body) {
            Ok(faults) => {
                let count = faults.len();
                lock(shared.faults).rules = faults;
                Ok(serde_json::json!({ "faults": count }))
            }
            Err(error) => Err((StatusCode::BAD_REQUEST, format!("not a list of faults: {error}"))),
        },
        ("DELETE", "/_sandbox/faults") => {
            lock(shared.faults).rules.clear();
            Ok(serde_json::json!({ "faults": 0 }))
        }
        ("GET", "/_sandbox/state") => Ok(serde_json::to_value(&*lock(shared.world)).unwrap_or_default()),
        ("PUT", "/_sandbox/state") => match serde_json::from_slice::<World>(body) {
            Ok(world) => {
                *lock(shared.world) = world;
                Ok(serde_json::json!({ "replaced": true }))
            }
            Err(error) => Err((StatusCode::BAD_REQUEST, format!("not a sandbox state: {error}"))),
        },
        ("POST", "/_sandbox/emr/events") => match serde_json::from_slice::<ClusterEvent>(body) {
            Ok(event) => (shared.play)(&event)
                .map(|()| serde_json::json!({ "played": event }))
                .map_err(|message| (StatusCode::CONFLICT, message)),
            Err(error) => Err((StatusCode::BAD_REQUEST, format!("not a cluster event: {error}"))),
        },
        _ => Err((StatusCode::NOT_FOUND, format!("no admin endpoint {method} {path}"))),
    };
    let (status, value) = match result {
        Ok(value) => (StatusCode::OK, value),
        Err((status, message)) => (status, serde_json::json!({ "error": message })),
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(value.to_string()))
        .unwrap_or_default()
}
