//! The objects behind a stack lock kept in S3: written only if absent
//! (`PutObject` with `If-None-Match: *`, which S3 makes atomic), read to say
//! who holds it, deleted to release it. What a lock means is the CLI's.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;

use crate::Aws;

/// An S3 call on a lock object that failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} of s3://{bucket}/{key} failed: {message}")]
pub struct LockStoreError {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub message: String,
}

impl LockStoreError {
    pub fn hint(&self) -> String {
        format!(
            "check that the bucket `{}` of `[stack] state_bucket` exists in the stack's region and that these credentials may get, put and delete objects under `{}`",
            self.bucket, self.key
        )
    }
}

impl Aws {
    fn lock_error(
        operation: &'static str,
        bucket: &str,
        key: &str,
        error: &(impl std::error::Error + 'static),
    ) -> LockStoreError {
        LockStoreError {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message: DisplayErrorContext(error).to_string(),
        }
    }

    /// Writes `body` at `s3://bucket/key` only if no object is there: `true`
    /// when written, `false` when another run holds it.
    pub async fn put_if_absent(&self, bucket: &str, key: &str, body: &str) -> Result<bool, LockStoreError> {
        Ok(self.create_object(bucket, key, body).await?.is_some())
    }

    /// Creates the object unless one is there: its ETag, or `None` when one is
    /// there already (412, or 409 for a concurrent conditional write).
    pub async fn create_object(&self, bucket: &str, key: &str, body: &str) -> Result<Option<String>, LockStoreError> {
        let result = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(output.e_tag().unwrap_or_default().to_owned())),
            Err(error)
                if error.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
                    || matches!(error.code(), Some("PreconditionFailed" | "ConditionalRequestConflict")) =>
            {
                Ok(None)
            }
            Err(error) => Err(Self::lock_error("PutObject", bucket, key, &error)),
        }
    }

    /// Replaces the object only if it still has the ETag `etag` (`If-Match`):
    /// the new ETag, or `None` when it has another or is gone (412, 409, or 404:
    /// every reading of S3's answers comes to "not yours").
    pub async fn replace_if_match(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        body: &str,
    ) -> Result<Option<String>, LockStoreError> {
        let result = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(output.e_tag().unwrap_or_default().to_owned())),
            Err(error)
                if error.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 404 | 409 | 412))
                    || matches!(
                        error.code(),
                        Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")
                    ) =>
            {
                Ok(None)
            }
            Err(error) => Err(Self::lock_error("PutObject", bucket, key, &error)),
        }
    }

    /// The object's text and ETag, or `None` when there is none.
    pub async fn object_with_etag(&self, bucket: &str, key: &str) -> Result<Option<(String, String)>, LockStoreError> {
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => {
                let etag = output.e_tag().unwrap_or_default().to_owned();
                let bytes = output
                    .body
                    .collect()
                    .await
                    .map_err(|error| Self::lock_error("GetObject", bucket, key, &error))?
                    .into_bytes();
                Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), etag)))
            }
            Err(error)
                if error.code() == Some("NoSuchKey")
                    || error.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(error) => Err(Self::lock_error("GetObject", bucket, key, &error)),
        }
    }

    /// Overwrites the object (the holder updating its own lock).
    pub async fn put_object_text(&self, bucket: &str, key: &str, body: &str) -> Result<(), LockStoreError> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| Self::lock_error("PutObject", bucket, key, &error))
    }

    /// The object's text, or `None` when there is none.
    pub async fn object_text(&self, bucket: &str, key: &str) -> Result<Option<String>, LockStoreError> {
        Ok(self.object_with_etag(bucket, key).await?.map(|(text, _)| text))
    }

    /// Deletes the object; one already gone is fine.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), LockStoreError> {
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| Self::lock_error("DeleteObject", bucket, key, &error))
    }
}
