//! The sandbox's request parsers on arbitrary requests: the query protocol
//! (EC2, IAM, STS), the JSON protocol (EMR, SageMaker, Service Catalog) and
//! S3's REST paths, through the same routing as over HTTP. An input is up to
//! eight requests separated by zero bytes, run in order against one
//! account, so a later request can act on what an earlier one created.
//! Never a panic; every answer is an HTTP status the SDKs understand.
#![no_main]

use converge_sandbox::{Config, Offline, Seed};
use libfuzzer_sys::fuzz_target;

const TARGETS: [&str; 3] = ["ElasticMapReduce", "SageMaker", "AWS242ServiceCatalogService"];

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let sandbox = Offline::new(Config { page_size: Some(2), ..Config::default() });
    sandbox.seed(&Seed { vpcs: vec![("vpc-0123".into(), "10.0.0.0/16".into())], buckets: vec!["bucket".into()] });
    for request in data.split(|b| *b == 0).take(8) {
        let Some((&selector, rest)) = request.split_first() else { continue };
        let (status, _) = runtime.block_on(async {
            match selector % 4 {
                // Query protocol: the body is the form; the credential scope picks the service.
                0 => {
                    let service = ["ec2", "iam", "sts"][usize::from(selector / 4) % 3];
                    let auth = format!("AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/{service}/aws4_request");
                    sandbox.request("POST", "/", &[("authorization", &auth)], rest).await
                }
                // JSON protocol: the operation up to the first newline, then the body.
                1 => {
                    let (operation, body) = split_line(rest);
                    let target = format!("{}.{operation}", TARGETS[usize::from(selector / 4) % 3]);
                    sandbox.request("POST", "/", &[("x-amz-target", &target)], body).await
                }
                // S3: a method, the path and query up to the first newline, then the body.
                _ => {
                    let method = ["GET", "PUT", "HEAD", "DELETE"][usize::from(selector / 4) % 4];
                    let (uri, body) = split_line(rest);
                    let uri = if uri.starts_with('/') { uri.to_owned() } else { format!("/{uri}") };
                    sandbox.request(method, &uri, &[("host", "127.0.0.1")], body).await
                }
            }
        });
        assert!((200..600).contains(&status), "status {status}");
    }
});

fn split_line(bytes: &[u8]) -> (String, &[u8]) {
    let end = bytes.iter().position(|b| *b == b'\n').unwrap_or(bytes.len());
    (String::from_utf8_lossy(&bytes[..end]).into_owned(), bytes.get(end + 1..).unwrap_or_default())
}
