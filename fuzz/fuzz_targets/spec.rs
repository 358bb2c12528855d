//! The spec parser and checker on arbitrary text: never a panic, every
//! diagnostic renderable; and a spec the checker accepts always plans from
//! an empty account and from the account that plan leaves.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Documents named by the spec: a policy and a template for any path, so
    // the checker goes past "file not found" into their contents.
    let loader = |path: &str| -> Result<String, String> {
        if path.ends_with(".json") {
            Ok(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#.to_owned())
        } else if path.ends_with(".yaml") || path.ends_with(".yml") {
            Ok("Resources:\n  Cluster:\n    Type: AWS::EMR::Cluster\n".to_owned())
        } else {
            Err("no such file".to_owned())
        }
    };
    let checked = converge_spec::check("fuzz.toml", text, &loader);
    let _ = checked.render();
    let Some(spec) = checked.spec else { return };
    let empty = converge_model::LiveState::before_converge(&spec);
    if let Ok(plan) = converge_plan::plan(&spec, &empty) {
        let _ = converge_plan::render::text(&plan, converge_plan::render::Style::plain());
        let _ = converge_plan::render::json(&plan);
    }
});
