# converge: everyday recipes. `just` lists them.

default:
    @just --list --unsorted

# The main job: plan, apply, drift and repair of specs/studio-emr.toml against an in-process sandbox.
demo:
    cargo run --locked -q -- demo

# The whole test suite, as CI runs it.
test:
    cargo test --workspace --locked

# The fast core-crate tests, for iterating.
test-core:
    cargo test -p converge-model -p converge-spec -p converge-plan

# Review changed snapshots (needs `cargo install cargo-insta`).
snap:
    cargo insta test --workspace --review

# Rewrite the generated key reference in docs/spec.md.
docs:
    UPDATE_DOCS=1 cargo test -p converge-spec --test docs

# Format and lint.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Fail when a core crate depends on tokio, aws-*, hyper, axum or clap.
check-layers:
    scripts/check-layers --self-test
    scripts/check-layers

# Print the JSON Schema of the spec language.
schema:
    cargo run --locked -q -- schema

# converge at 100, 1,000 and 5,000 resources against a per-resource refresh (docs/performance.md; release: ~20 min to build the first time).
bench-scale *ARGS:
    cargo build --release --locked -q -p converge-cli
    cargo bench --locked -p converge-aws --bench scale -- {{ARGS}}

# The reference specs' plan calls, apply against the critical path, and rebuild (docs/performance.md).
bench-apply *ARGS:
    cargo bench --locked --profile dev -p converge-aws --bench apply -- {{ARGS}}

# converge watch: a cluster's primary node lost → rebuilt → outputs published, against drift + a person's rebuild; memory over 10,000 cycles (docs/performance.md).
bench-watch *ARGS:
    cargo bench --locked --profile dev -p converge-cli --bench watch -- {{ARGS}}

# Applies and destroys under faults, and applies killed with SIGKILL at random points (docs/performance.md).
soak runs="3" kills="50":
    CONVERGE_SOAK_RUNS={{runs}} CONVERGE_SOAK_KILLS={{kills}} cargo test --locked -p converge-cli --test soak -- --ignored --nocapture

# Only the kills: applies killed with SIGKILL at random points, each finished by the next (no faulty runs).
kills trials="50":
    CONVERGE_SOAK_RUNS=0 CONVERGE_SOAK_KILLS={{trials}} cargo test --locked -p converge-cli --test soak -- --ignored --nocapture

# Coverage-guided fuzzing of one target (`spec` or `sandbox_request`) for a bounded time (needs nightly and `cargo install cargo-fuzz`).
fuzz target="spec" seconds="600":
    mkdir -p fuzz/corpus/spec fuzz/corpus/sandbox_request
    cp specs/*.toml fixtures/spec/valid/*.toml fixtures/spec/invalid/*.toml fuzz/corpus/spec/
    cd fuzz && cargo +nightly fuzz run {{target}} -- -max_total_time={{seconds}} -rss_limit_mb=4096 $([ {{target}} = sandbox_request ] && echo -dict=dicts/sandbox.dict)

# The end-to-end EC2, IAM, S3 and STS parts against moto's server (needs `pip install 'moto[server]'`; .ci/run does it all).
moto port="5000":
    MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p {{port}} & trap "kill $!" EXIT; sleep 3; CONVERGE_MOTO_ENDPOINT=http://127.0.0.1:{{port}} cargo test --locked -p converge-cli --test moto -- --ignored

# Everything CI runs.
ci:
    bash .ci/run
