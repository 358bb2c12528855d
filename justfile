# converge: everyday recipes. `just` lists them.

default:
    @just --list --unsorted

# The main job: validate the reference specs (the demo grows with the sandbox).
demo:
    cargo run --locked -q -- validate specs/studio-emr.toml && cargo run --locked -q -- validate specs/etl-cluster.toml && cargo run --locked -q -- plan specs/etl-cluster.toml --live specs/live/etl-cluster.json

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

# Everything CI runs.
ci:
    bash .ci/run
