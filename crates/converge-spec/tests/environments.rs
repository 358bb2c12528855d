//! Environments: how an environment's stack is made and checked, beyond the
//! invalid fixtures (one per code) and the reference spec.

use converge_spec::{Checked, NoFiles, Origin, codes};

const BASE: &str = r#"
[stack]
name = "fixture"
region = "ap-northeast-1"

[vpc.main]
id = "vpc-0b4cd1e283a3474c0"

[subnet.a]
vpc = "main"
cidr = "10.0.1.0/24"
availability_zone = "ap-northeast-1a"
"#;

fn with(envs: &str) -> String {
    format!("{BASE}\n{envs}")
}

fn codes_of(checked: &Checked) -> Vec<&'static str> {
    checked.diagnostics.iter().map(|d| d.code.name).collect()
}

#[test]
fn a_broken_env_table_leaves_no_stack_to_plan() {
    let text =
        BASE.replace("region = \"ap-northeast-1\"\n", "region = \"ap-northeast-1\"\naccount = \"123456789012\"\n");
    let valid = converge_spec::check("x.toml", &text, &NoFiles);
    assert!(valid.spec.is_some(), "{}", valid.render());
    for broken in ["env = 3\n", "[env]\nstaging = 3\n", "[env.\"eu.prod\"]\nstack.account = \"1\"\n"] {
        let checked = converge_spec::check("x.toml", &format!("{text}\n{broken}"), &NoFiles);
        assert!(checked.error_count() > 0, "{broken}");
        assert!(checked.spec.is_none() && checked.model.is_none(), "{broken}: an error, so no stack");
    }
}

#[test]
fn one_environments_check_leaves_the_others_problems_out_but_not_a_shared_stack() {
    let text = with(
        "[env.staging]\nstack.account = \"111111111111\"\n\n[env.production]\nstack.account = \"222222222222\"\nsubnet.a.cidr = \"10.0.1.0/33\"\n\n[env.qa]\nstack.account = \"111111111111\"\n",
    );
    let staging = converge_spec::check_environment("x.toml", &text, &NoFiles, "staging").expect("declared");
    assert_eq!(codes_of(&staging), [codes::DUPLICATE_ENVIRONMENT.name], "{}", staging.render());
    assert!(staging.spec.is_none(), "staging and qa are one stack: neither is planned");
    let production = converge_spec::check_environment("x.toml", &text, &NoFiles, "production").expect("declared");
    assert_eq!(codes_of(&production), [codes::INVALID_CIDR.name], "{}", production.render());
    let all = converge_spec::check("x.toml", &text, &NoFiles);
    let duplicate = all.diagnostics.iter().find(|d| d.code == codes::DUPLICATE_ENVIRONMENT).expect("reported");
    assert_eq!(duplicate.environments, ["staging", "qa"]);
}

#[test]
fn a_value_the_base_forgets_is_the_bases_error_and_one_left_to_the_environments_theirs() {
    // The base's subnet has no CIDR and no environment sets one: the base's error, once, for both.
    let forgotten =
        with("[env.staging]\nstack.account = \"111111111111\"\n\n[env.production]\nstack.account = \"222222222222\"\n")
            .replace("cidr = \"10.0.1.0/24\"\n", "");
    let checked = converge_spec::check("x.toml", &forgotten, &NoFiles);
    let missing: Vec<_> = checked.diagnostics.iter().filter(|d| d.code == codes::MISSING_KEY).collect();
    assert_eq!(missing.len(), 1, "{}", checked.render());
    assert_eq!(missing[0].environments, ["staging", "production"]);
    // Each environment sets the CIDR but one: that one's error, at its table.
    let left =
        forgotten.replace("[env.production]\n", "[env.staging.subnet.a]\ncidr = \"10.0.1.0/24\"\n\n[env.production]\n");
    let checked = converge_spec::check("x.toml", &left, &NoFiles);
    assert_eq!(codes_of(&checked), [codes::ENV_MISSING_VALUE.name], "{}", checked.render());
    assert_eq!(checked.diagnostics[0].environments, ["production"]);
    assert!(checked.render().contains("environment `production` leaves `subnet.a.cidr` unset"), "{}", checked.render());
}

#[test]
fn a_part_of_a_value_an_environment_changes_is_the_environments() {
    let text = r#"
[stack]
name = "x"
region = "us-east-1"
account = "123456789012"

[emr_cluster.etl.task]
spot = { min = 0, max = 960 }

[env.staging]
emr_cluster.etl.task.spot.max = 8
"#;
    let settings = converge_spec::settings(text, Some("staging")).expect("declared");
    let spot = settings.iter().find(|s| s.owner == "emr_cluster.etl" && s.key == "task.spot").expect("the range");
    assert_eq!(spot.value, serde_json::json!({ "min": 0, "max": 8 }));
    assert_eq!((spot.origin, spot.line), (Origin::Environment, 11), "the line that changed it");
    let base = converge_spec::settings(text, None).expect("the base");
    let spot = base.iter().find(|s| s.key == "task.spot").expect("the range");
    assert_eq!((spot.origin, spot.line), (Origin::Base, 8));
}
