//! The stack lock: apply, destroy and rebuild hold it from before they read
//! AWS until they are done, so two runs never change one stack at once. Plan,
//! drift and output take none.
//!
//! Where: `s3://<state_bucket>/converge/<stack>/lock.json` when the spec names
//! a state bucket (written with `If-None-Match: *`, so of two runs exactly one
//! gets it, on any machine); otherwise `.converge/<stack>.lock` next to the
//! spec, created exclusively (one machine); an environment's stack has its
//! own (`converge/<stack>/<env>/lock.json`, `.converge/<stack>.<env>.lock`).
//! The lock says who holds it, since
//! when, for what, and the id that `--force-unlock` takes when its run died.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use converge_aws::Aws;
use serde_json::json;

use crate::console::say;

/// How long to wait for a lock another run holds, and which dead holder to remove first.
pub(crate) struct LockOptions {
    pub(crate) timeout: Duration,
    pub(crate) force_unlock: Option<String>,
}

/// What a lock records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) operation: String,
    /// Seconds since the epoch.
    pub(crate) since: u64,
    pub(crate) plan: Option<String>,
}

impl Holder {
    fn to_json(&self) -> String {
        json!({
            "id": self.id,
            "owner": self.owner,
            "operation": self.operation,
            "since": self.since,
            "plan": self.plan,
        })
        .to_string()
    }

    fn parse(text: &str) -> Holder {
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let text_of = |key: &str| value[key].as_str().unwrap_or("?").to_owned();
        Holder {
            id: text_of("id"),
            owner: text_of("owner"),
            operation: text_of("operation"),
            since: value["since"].as_u64().unwrap_or(0),
            plan: value["plan"].as_str().map(str::to_owned),
        }
    }

    /// "alice@ci-7 (pid 4242), running apply of plan 3f2a… for 42 s (lock id 9c1e…)"
    fn describe(&self) -> String {
        let age = now().saturating_sub(self.since);
        let plan = self.plan.as_ref().map(|p| format!(" of plan {p}")).unwrap_or_default();
        format!("{}, running {}{plan} for {age} s (lock id {})", self.owner, self.operation, self.id)
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

enum Store<'a> {
    File(PathBuf),
    S3 { aws: &'a Aws, bucket: String, key: String },
}

impl Store<'_> {
    fn name(&self) -> String {
        match self {
            Store::File(path) => path.display().to_string(),
            Store::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// Writes the lock unless one is there: `true` when this run now holds it.
    async fn create(&self, body: &str) -> anyhow::Result<bool> {
        match self {
            Store::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create the lock directory `{}`", dir.display()))?;
                }
                match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                    Ok(mut file) => {
                        file.write_all(body.as_bytes())
                            .and_then(|()| file.sync_all())
                            .with_context(|| format!("cannot write the lock file `{}`", path.display()))?;
                        Ok(true)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(error) => {
                        Err(error).with_context(|| format!("cannot create the lock file `{}`", path.display()))
                    }
                }
            }
            Store::S3 { aws, bucket, key } => Ok(aws.put_if_absent(bucket, key, body).await.map_err(with_hint)?),
        }
    }

    /// Rewrites the lock this run holds.
    async fn update(&self, body: &str) -> anyhow::Result<()> {
        match self {
            Store::File(path) => {
                std::fs::write(path, body).with_context(|| format!("cannot update the lock file `{}`", path.display()))
            }
            Store::S3 { aws, bucket, key } => Ok(aws.put_object_text(bucket, key, body).await.map_err(with_hint)?),
        }
    }

    async fn read(&self) -> anyhow::Result<Option<Holder>> {
        let text = match self {
            Store::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot read the lock file `{}`", path.display()));
                }
            },
            Store::S3 { aws, bucket, key } => aws.object_text(bucket, key).await.map_err(with_hint)?,
        };
        Ok(text.map(|t| Holder::parse(&t)))
    }

    async fn remove(&self) -> anyhow::Result<()> {
        match self {
            Store::File(path) => match std::fs::remove_file(path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(error).with_context(|| format!("cannot remove the lock file `{}`", path.display()))
                }
                _ => Ok(()),
            },
            Store::S3 { aws, bucket, key } => Ok(aws.delete_object(bucket, key).await.map_err(with_hint)?),
        }
    }
}

fn with_hint(error: converge_aws::LockStoreError) -> anyhow::Error {
    let hint = error.hint();
    anyhow::anyhow!("{error}\n\nhint: {hint}")
}

/// The lock this run holds; [`StackLock::release`] gives it back.
pub(crate) struct StackLock<'a> {
    store: Store<'a>,
    holder: Holder,
}

impl<'a> StackLock<'a> {
    /// Takes the lock of `spec`'s stack for `operation`, waiting up to
    /// `options.timeout` (and saying who holds it) while another run does.
    pub(crate) async fn acquire(
        spec_path: &Path,
        spec: &converge_model::Spec,
        aws: &'a Aws,
        operation: &str,
        options: &LockOptions,
    ) -> anyhow::Result<StackLock<'a>> {
        let name = &spec.stack.name;
        // Each environment is its own stack, with its own lock.
        let (stack, key, file) = match &spec.stack.environment {
            Some(env) => (
                format!("`{name}` (environment `{env}`)"),
                format!("converge/{name}/{env}/lock.json"),
                format!("{name}.{env}.lock"),
            ),
            None => (format!("`{name}`"), format!("converge/{name}/lock.json"), format!("{name}.lock")),
        };
        let store = match &spec.stack.state_bucket {
            Some(bucket) => Store::S3 { aws, bucket: bucket.clone(), key },
            None => {
                let dir = spec_path.parent().unwrap_or_else(|| Path::new("."));
                Store::File(dir.join(".converge").join(file))
            }
        };
        if let Some(id) = &options.force_unlock {
            match store.read().await? {
                Some(holder) if &holder.id == id => {
                    store.remove().await?;
                    say(&format!("Removed the lock of stack {stack} held by {}.", holder.describe()));
                }
                Some(holder) => anyhow::bail!(
                    "the lock of stack {stack} has the id `{}`, not `{id}`: it is held by {}\n\nhint: `--force-unlock` takes the id of the lock of a run that died; this one may be alive",
                    holder.id,
                    holder.describe()
                ),
                None => say(&format!("The stack {stack} was not locked; nothing to unlock.")),
            }
        }
        let holder =
            Holder { id: lock_id(), owner: owner(), operation: operation.to_owned(), since: now(), plan: None };
        let started = std::time::Instant::now();
        let mut said: Option<String> = None;
        loop {
            if store.create(&holder.to_json()).await? {
                return Ok(StackLock { store, holder });
            }
            let Some(current) = store.read().await? else { continue }; // released meanwhile
            if started.elapsed() >= options.timeout {
                anyhow::bail!(
                    "the stack {stack} is locked by {} ({})\n\nhint: wait for that run to finish (`--lock-timeout SECONDS` waits longer); if it died, run again with `--force-unlock {}`",
                    current.describe(),
                    store.name(),
                    current.id
                );
            }
            if said.as_ref() != Some(&current.id) {
                say(&format!(
                    "Waiting for the lock of stack {stack} ({}): held by {}.",
                    store.name(),
                    current.describe()
                ));
                said = Some(current.id.clone());
            }
            tokio::time::sleep(Duration::from_millis(500).min(options.timeout.saturating_sub(started.elapsed()))).await;
        }
    }

    /// Records the plan being carried out in the lock, for whoever waits.
    pub(crate) async fn record_plan(&mut self, plan_id: &str) -> anyhow::Result<()> {
        self.holder.plan = Some(plan_id.to_owned());
        self.store.update(&self.holder.to_json()).await
    }

    /// Gives the lock back, if it is still this run's.
    pub(crate) async fn release(self) -> anyhow::Result<()> {
        match self.store.read().await? {
            Some(current) if current.id == self.holder.id => self.store.remove().await,
            _ => Ok(()),
        }
    }
}

/// `user@host (pid N)`.
pub(crate) fn owner() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "someone".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

/// 16 hex digits from the time and the process id.
pub(crate) fn lock_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut id = converge_plan::digest::sha256_hex(format!("{nanos}/{}", std::process::id()).as_bytes());
    id.truncate(16);
    id
}
