//! What every SDK test needs: a client configuration pointed at a sandbox, and
//! the AWS error code of a failed call; and for raw requests to an `Offline`
//! sandbox, each protocol's answer taken apart.
// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use converge_sandbox::Sandbox;

/// An SDK configuration for `sandbox`: static credentials, plain HTTP, its endpoint.
pub(crate) async fn sdk(sandbox: &Sandbox) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "sandbox",
        ))
        .endpoint_url(sandbox.endpoint())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await
}

/// The AWS error code of a failed call, `<success>` for a successful one.
pub(crate) fn code<T, E, R>(result: Result<T, aws_sdk_iam::error::SdkError<E, R>>) -> String
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => "<success>".to_owned(),
        Err(error) => match error.as_service_error().and_then(|e| e.code()) {
            Some(code) => code.to_owned(),
            None => format!("<no code: {}>", aws_sdk_iam::error::DisplayErrorContext(&error)),
        },
    }
}

/// Polls until `check` holds (at most 400 tries, 25 ms apart): for time-scaled state changes.
pub(crate) async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never reached: {what}");
}

/// An awsJson request to `sandbox`: the status, the error code (`__type`) and message.
pub(crate) async fn json(sandbox: &converge_sandbox::Offline, target: &str, body: &str) -> (u16, String, String) {
    let headers = [("x-amz-target", target), ("content-type", "application/x-amz-json-1.1")];
    let (status, body) = sandbox.request("POST", "/", &headers, body.as_bytes()).await;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let code = value["__type"].as_str().unwrap_or_default().to_owned();
    (status, code, value["message"].as_str().unwrap_or_default().to_owned())
}

/// A query request (EC2, IAM, STS) to `sandbox`: the status, and the error's code and message.
pub(crate) async fn query(sandbox: &converge_sandbox::Offline, body: &str) -> (u16, String, String) {
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let (status, body) = sandbox.request("POST", "/", &headers, body.as_bytes()).await;
    let text = String::from_utf8_lossy(&body);
    let element = |name: &str| {
        text.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{name}>")).next())
            .unwrap_or_default()
            .to_owned()
    };
    (status, element("Code"), xml_unescape(&element("Message")))
}

pub(crate) fn xml_unescape(text: &str) -> String {
    text.replace("&apos;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}
