//! S3: listing and deleting a table's data, and uploading objects (seed files).
//!
//! Deletes are where dbt-athena users lost data: a location without a trailing `/` also
//! matched sibling tables (`s3://b/orders` deleted `s3://b/orders_v2/...`, dbt-athena PR #76),
//! and a table whose location was a bucket root or another team's folder had all of it deleted
//! (dbt-athena#776, dbt-adapters#405). So [`AwsClient::delete_prefix`] takes the location to
//! delete *and* the prefix the caller owns (the relation's own folder), treats both as folders
//! (trailing `/`), and refuses, before any call, to delete anything that is not inside the
//! owned prefix, a bucket root, or another bucket. Every deleted key is logged at debug level.

use super::error::{AwsError, AwsErrorKind, Op, Service};
use super::{AwsClient, Idempotent};
use crate::events::{Event, kinds};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use std::fmt;

const fn op(name: &'static str) -> Op {
    Op {
        service: Service::S3,
        name,
    }
}

/// S3 accepts at most 1,000 keys per `DeleteObjects`.
const DELETE_BATCH: usize = 1000;

/// The error of a delete under `location` that kiln refuses, and `why`.
fn refused(location: &S3Location, why: String) -> AwsError {
    AwsError::new(
        AwsErrorKind::Refused,
        op("DeleteObjects"),
        format!("kiln refuses to delete {location}: {why}"),
    )
}

/// A folder in S3: a bucket and a key prefix that is empty (the bucket root) or ends with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// Reads `s3://bucket/some/path` (with or without the trailing `/`) as a folder.
    pub fn parse(uri: &str) -> Result<S3Location, AwsError> {
        let bad = |why: &str| {
            AwsError::new(
                AwsErrorKind::Config,
                op("parse"),
                format!("'{uri}' is not an S3 location ({why}); write it as s3://bucket/path/"),
            )
        };
        let Some(rest) = uri.strip_prefix("s3://") else {
            return Err(bad("it does not start with s3://"));
        };
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        let path = path.trim_start_matches('/');
        let prefix = if path.is_empty() || path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix,
        })
    }

    /// Whether this folder is `other` or inside it.
    pub fn is_within(&self, other: &S3Location) -> bool {
        self.bucket == other.bucket && self.prefix.starts_with(&other.prefix)
    }

    /// A folder below this one.
    pub fn join(&self, name: &str) -> S3Location {
        S3Location::parse(&format!("{self}{}", name.trim_matches('/')))
            .unwrap_or_else(|_| self.clone())
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// One object found by [`AwsClient::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub key: String,
    pub size: i64,
}

impl AwsClient {
    /// Every object under a folder (all pages of `ListObjectsV2`), in key order.
    pub fn list(&self, location: &S3Location) -> Result<Vec<S3Object>, AwsError> {
        let s3 = &self.inner.s3;
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out =
                self.block_on(self.call(op("ListObjectsV2"), Idempotent::Yes, None, || {
                    s3.list_objects_v2()
                        .bucket(&location.bucket)
                        .prefix(&location.prefix)
                        .set_continuation_token(token.clone())
                        .send()
                }))?;
            objects.extend(out.contents().iter().map(|o| S3Object {
                key: o.key().unwrap_or_default().to_string(),
                size: o.size().unwrap_or(0),
            }));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(objects)
    }

    /// Deletes every object under `location`, which must lie inside `owned` (the folder the
    /// caller's relation owns). Returns how many objects were deleted.
    pub fn delete_prefix(
        &self,
        location: &S3Location,
        owned: &S3Location,
    ) -> Result<usize, AwsError> {
        let refuse = |why: String| Err(refused(location, why));
        if owned.prefix.is_empty() || location.prefix.is_empty() {
            return refuse(format!(
                "it is the root of bucket '{}' (kiln deletes only inside a relation's own folder)",
                location.bucket
            ));
        }
        if !location.is_within(owned) {
            return refuse(format!(
                "it is not inside {owned}, the folder this relation owns"
            ));
        }
        let objects = self.list(location)?;
        self.delete_objects(location, &objects)
    }

    /// Deletes every object under each of `folders` (each inside `owned`, checked as
    /// [`AwsClient::delete_prefix`] checks its location): one listing per folder, then one
    /// `DeleteObjects` per 1,000 keys of them all. Returns how many objects were deleted.
    pub fn delete_folders(
        &self,
        folders: &[S3Location],
        owned: &S3Location,
    ) -> Result<usize, AwsError> {
        let mut objects = vec![];
        for location in folders {
            if owned.prefix.is_empty() || location.prefix.is_empty() || !location.is_within(owned) {
                return Err(AwsError::new(
                    AwsErrorKind::Refused,
                    op("DeleteObjects"),
                    format!(
                        "kiln refuses to delete {location}: it is not a folder inside {owned}, the folder this relation owns"
                    ),
                ));
            }
            objects.extend(self.list(location)?);
        }
        self.delete_objects(owned, &objects)
    }

    /// Deletes every object under `owned` except those under one of `keep` (the folders the
    /// relation's tables read): what an interrupted build left. Returns how many were deleted.
    pub fn delete_prefix_except(
        &self,
        owned: &S3Location,
        keep: &[S3Location],
    ) -> Result<usize, AwsError> {
        if owned.prefix.is_empty() {
            return Err(AwsError::new(
                AwsErrorKind::Refused,
                op("DeleteObjects"),
                format!(
                    "kiln refuses to delete in {owned}: it is the root of bucket '{}'",
                    owned.bucket
                ),
            ));
        }
        let objects: Vec<S3Object> = self
            .list(owned)?
            .into_iter()
            .filter(|o| {
                !keep
                    .iter()
                    .any(|k| k.bucket == owned.bucket && o.key.starts_with(&k.prefix))
            })
            .collect();
        self.delete_objects(owned, &objects)
    }

    /// Deletes `objects`, every one of which must be under `location`, in batches of 1,000,
    /// logging each key at debug level.
    fn delete_objects(
        &self,
        location: &S3Location,
        objects: &[S3Object],
    ) -> Result<usize, AwsError> {
        let refuse = |why: String| Err(refused(location, why));
        let s3 = &self.inner.s3;
        let mut deleted = 0;
        for batch in objects.chunks(DELETE_BATCH) {
            let mut ids = Vec::with_capacity(batch.len());
            for o in batch {
                if !o.key.starts_with(&location.prefix) {
                    return refuse(format!("S3 listed '{}', which is outside it", o.key));
                }
                let id = ObjectIdentifier::builder()
                    .key(&o.key)
                    .build()
                    .map_err(|e| {
                        AwsError::new(AwsErrorKind::Config, op("DeleteObjects"), e.to_string())
                    })?;
                ids.push(id);
            }
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| {
                    AwsError::new(AwsErrorKind::Config, op("DeleteObjects"), e.to_string())
                })?;
            let out =
                self.block_on(self.call(op("DeleteObjects"), Idempotent::Yes, None, || {
                    s3.delete_objects()
                        .bucket(&location.bucket)
                        .delete(delete.clone())
                        .send()
                }))?;
            if let Some(e) = out.errors().first() {
                let mut err = AwsError::new(
                    AwsErrorKind::Other,
                    op("DeleteObjects"),
                    format!(
                        "{} of {} objects under {location} were not deleted; first: '{}': {}",
                        out.errors().len(),
                        batch.len(),
                        e.key().unwrap_or(""),
                        self.redactor().redact(e.message().unwrap_or(""))
                    ),
                );
                err.code = e.code().map(str::to_string);
                return Err(err);
            }
            for o in batch {
                Event::new(
                    kinds::ADAPTER_EVENT_DEBUG,
                    format!("Deleted s3://{}/{}", location.bucket, o.key),
                )
                .emit();
            }
            deleted += batch.len();
        }
        Ok(deleted)
    }

    /// Writes one object.
    pub fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        let s3 = &self.inner.s3;
        self.block_on(self.call(op("PutObject"), Idempotent::Yes, None, || {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body.clone()))
                .send()
        }))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_folders() {
        let l = S3Location::parse("s3://data/dev/orders").expect("valid");
        assert_eq!(l.bucket, "data");
        assert_eq!(l.prefix, "dev/orders/");
        assert_eq!(l.to_string(), "s3://data/dev/orders/");
        assert_eq!(
            S3Location::parse("s3://data/dev/orders/").expect("valid"),
            l
        );
        assert_eq!(S3Location::parse("s3://data").expect("valid").prefix, "");
        assert_eq!(S3Location::parse("s3://data/").expect("valid").prefix, "");
        assert!(S3Location::parse("data/orders").is_err());
        assert!(S3Location::parse("s3:///orders").is_err());
        assert_eq!(l.join("v2/").to_string(), "s3://data/dev/orders/v2/");
    }

    #[test]
    fn a_sibling_with_a_longer_name_is_not_inside() {
        let orders = S3Location::parse("s3://data/dev/orders").expect("valid");
        let v2 = S3Location::parse("s3://data/dev/orders_v2").expect("valid");
        let part = S3Location::parse("s3://data/dev/orders/dt=2024-01-01").expect("valid");
        assert!(!v2.is_within(&orders));
        assert!(part.is_within(&orders));
        assert!(orders.is_within(&orders));
        let other_bucket = S3Location::parse("s3://other/dev/orders").expect("valid");
        assert!(!other_bucket.is_within(&orders));
    }
}
