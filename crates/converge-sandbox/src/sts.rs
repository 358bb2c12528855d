//! STS: who am I.

use crate::context::Ctx;
use crate::error::ApiError;
use crate::query::Params;
use crate::xml::Xml;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub(crate) fn handle(ctx: &Ctx<'_>, operation: &str, _params: &Params) -> Result<String, ApiError> {
    match operation {
        "GetCallerIdentity" => {
            let mut x = Xml::new();
            x.root("GetCallerIdentityResponse", NAMESPACE).open("GetCallerIdentityResult");
            x.text("Arn", &format!("arn:aws:iam::{}:user/sandbox", ctx.account));
            x.text("UserId", "AIDASANDBOXSANDBOX0001").text("Account", ctx.account);
            x.close("GetCallerIdentityResult").open("ResponseMetadata").text("RequestId", ctx.request_id);
            x.close("ResponseMetadata").close("GetCallerIdentityResponse");
            Ok(x.finish())
        }
        other => Err(ApiError::bad_request(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}
