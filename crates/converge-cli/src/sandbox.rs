//! `converge sandbox`: the local AWS, in the foreground until Ctrl-C.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct SandboxArgs {
    /// The loopback port; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 4566)]
    port: u16,
    /// Keep the emulated account in this file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Multiplies AWS's typical durations of state changes (1 = real time).
    #[arg(long, default_value_t = 0.01)]
    time_scale: f64,
    /// The account id the sandbox pretends to be.
    #[arg(long, default_value = "123456789012")]
    account: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// A fault from the start: `SERVICE[:OPERATION]=KIND[,times=N][,ms=N][,rate=P]`,
    /// e.g. `iam:GetRole=throttle,times=2` or `ec2=throttle,rate=0.1`; KIND is
    /// throttle, internal_error, unavailable, latency or drop. Repeatable;
    /// `/_sandbox/faults` changes them later.
    #[arg(long = "fault", value_name = "FAULT")]
    faults: Vec<converge_sandbox::Fault>,
    /// Seconds of AWS time after a role is created before EMR sees its instance profile.
    #[arg(long, default_value_t = 8.0)]
    iam_propagation_seconds: f64,
    /// Caps every page of every paginated call at N items, whatever the client
    /// asks (AWS's own page sizes otherwise), to exercise a client's pagination.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    page_size: Option<u32>,
    /// Seeds the draws of faults with a `rate`, so a run replays.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Throttle by AWS's published request rates (EC2's per action, EMR's per
    /// API and for all its APIs, S3's per prefix; docs/aws-fidelity.md):
    /// `off`, or a factor on AWS's bursts and refills (`1` = AWS's own, `10`
    /// as after a quota increase). Real seconds, whatever `--time-scale`.
    #[arg(long, value_name = "FACTOR|off", default_value = "1", value_parser = parse_rate_limits)]
    rate_limits: RateLimits,
}

/// `--rate-limits`: `None` is off.
#[derive(Clone, Copy, Debug)]
struct RateLimits(Option<f64>);

fn parse_rate_limits(text: &str) -> Result<RateLimits, String> {
    match text {
        "off" => Ok(RateLimits(None)),
        _ => match text.parse::<f64>() {
            Ok(factor) if factor > 0.0 && factor.is_finite() => Ok(RateLimits(Some(factor))),
            _ => Err(format!("`{text}` is neither `off` nor a positive factor (`1` = AWS's rates)")),
        },
    }
}

pub(crate) async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let config = converge_sandbox::Config {
        port: args.port,
        account: args.account,
        region: args.region,
        time_scale: args.time_scale,
        state_file: args.state,
        faults: args.faults,
        iam_propagation_seconds: args.iam_propagation_seconds,
        page_size: args.page_size.map(|n| n as usize),
        seed: args.seed,
        rate_limits: args.rate_limits.0,
        // AWS's five minutes.
        ..converge_sandbox::Config::default()
    };
    let (account, region) = (config.account.clone(), config.region.clone());
    let sandbox = converge_sandbox::Sandbox::start(config).await.map_err(|error| {
        anyhow::Error::new(error)
            .context("cannot start the sandbox\n\nhint: choose another `--port`, or `--port 0` for a free one")
    })?;
    // The announcement is best effort: a sandbox whose stdout nobody reads keeps serving.
    let announcement = format!(
        "converge sandbox listening on {0} (account {account}, region {region})\n  export AWS_ENDPOINT_URL={0} AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION={region}\n  admin API: {0}/_sandbox/health, /_sandbox/requests, /_sandbox/faults, /_sandbox/state\n",
        sandbox.endpoint()
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(announcement.as_bytes()).and_then(|()| stdout.flush());
    drop(stdout);
    sandbox.serve_until_interrupted().await;
    Ok(ExitCode::SUCCESS)
}
