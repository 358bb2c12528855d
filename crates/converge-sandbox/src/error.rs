//! An AWS error, rendered the way each protocol spells it.

use crate::xml::Xml;

/// A service error: HTTP status, AWS error code, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into() }
    }

    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// A parameter the operation needs is absent.
    pub(crate) fn missing(name: &str) -> Self {
        Self::bad_request("MissingParameter", format!("The request must contain the parameter {name}"))
    }

    /// EC2's error document.
    pub(crate) fn ec2_body(&self, request_id: &str) -> String {
        let mut x = Xml::new();
        x.open("Response").open("Errors").open("Error");
        x.text("Code", &self.code).text("Message", &self.message);
        x.close("Error").close("Errors").text("RequestID", request_id).close("Response");
        x.finish()
    }

    /// The awsQuery error document (IAM, STS).
    pub(crate) fn query_body(&self, request_id: &str) -> String {
        let mut x = Xml::new();
        x.open("ErrorResponse").open("Error");
        x.text("Type", if self.status >= 500 { "Receiver" } else { "Sender" });
        x.text("Code", &self.code).text("Message", &self.message);
        x.close("Error").text("RequestId", request_id).close("ErrorResponse");
        x.finish()
    }

    /// S3's error document.
    pub(crate) fn s3_body(&self, request_id: &str) -> String {
        let mut x = Xml::new();
        x.open("Error")
            .text("Code", &self.code)
            .text("Message", &self.message)
            .text("RequestId", request_id)
            .close("Error");
        x.finish()
    }

    /// The awsJson error document.
    pub(crate) fn json_body(&self) -> String {
        serde_json::json!({ "__type": self.code, "message": self.message }).to_string()
    }
}
