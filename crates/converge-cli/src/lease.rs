//! Leadership between `converge watch` replicas: a lease object in the
//! stack's state bucket (`converge/<stack>[/<env>]/watch-lease.json`).
//!
//! The first replica creates it (`If-None-Match: *`); the leader renews it
//! with `If-Match` on the ETag it last wrote, so a renewal after another
//! replica took over fails (412) and the old leader knows at once. A standby
//! takes over only when the object has not changed for a whole lease, as it
//! observes on its own clock (no comparison of clocks between machines), and
//! again only with `If-Match` on the ETag it saw, so of two standbys exactly
//! one wins.

use std::time::{Duration, Instant};

use converge_aws::Aws;
use serde_json::json;

/// Where the lease lives and who this replica is.
pub(crate) struct Lease<'a> {
    aws: &'a Aws,
    bucket: String,
    key: String,
    /// This replica (who, where, a lock id), written in the object for people.
    holder: String,
    duration: Duration,
    /// The ETag this replica last wrote, while it leads.
    mine: Option<String>,
    /// The object as a standby last saw it: its ETag, and since when unchanged.
    seen: Option<(String, Instant)>,
}

/// What one look at the lease found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Leader,
    Standby,
}

impl<'a> Lease<'a> {
    pub(crate) fn new(aws: &'a Aws, bucket: &str, key: String, duration: Duration) -> Lease<'a> {
        let holder = format!("{} [{}]", crate::lock::owner(), crate::lock::lock_id());
        Lease { aws, bucket: bucket.to_owned(), key, holder, duration, mine: None, seen: None }
    }

    pub(crate) fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// How often to renew: a third of the lease, so two renewals can fail before it lapses.
    pub(crate) fn renew_every(&self) -> Duration {
        self.duration / 3
    }

    fn body(&self) -> String {
        json!({ "holder": self.holder, "lease_seconds": self.duration.as_secs_f64() }).to_string()
    }

    /// Renews the lease this replica holds, or tries to take it: the role after.
    pub(crate) async fn tick(&mut self) -> anyhow::Result<Role> {
        let error = |e: converge_aws::LockStoreError| anyhow::anyhow!("the watch lease: {e}\n\nhint: {}", e.hint());
        if let Some(etag) = self.mine.clone() {
            self.mine = self.aws.replace_if_match(&self.bucket, &self.key, &etag, &self.body()).await.map_err(error)?;
            return Ok(if self.mine.is_some() { Role::Leader } else { Role::Standby });
        }
        match self.aws.object_with_etag(&self.bucket, &self.key).await.map_err(error)? {
            None => {
                self.mine = self.aws.create_object(&self.bucket, &self.key, &self.body()).await.map_err(error)?;
            }
            Some((_, etag)) => {
                let unchanged_since = match &self.seen {
                    Some((seen, since)) if *seen == etag => *since,
                    _ => Instant::now(),
                };
                self.seen = Some((etag.clone(), unchanged_since));
                if unchanged_since.elapsed() >= self.duration {
                    // The leader stopped renewing: take over, if no one else did first.
                    self.mine =
                        self.aws.replace_if_match(&self.bucket, &self.key, &etag, &self.body()).await.map_err(error)?;
                }
            }
        }
        if self.mine.is_some() {
            self.seen = None;
        }
        Ok(if self.mine.is_some() { Role::Leader } else { Role::Standby })
    }

    /// Gives the lease up (on SIGTERM), so a standby takes over at once: the
    /// object is deleted if it is still the one this replica wrote.
    pub(crate) async fn release(&mut self) {
        let Some(etag) = self.mine.take() else { return };
        if let Ok(Some((_, current))) = self.aws.object_with_etag(&self.bucket, &self.key).await
            && current == etag
        {
            let _ = self.aws.delete_object(&self.bucket, &self.key).await;
        }
    }
}
