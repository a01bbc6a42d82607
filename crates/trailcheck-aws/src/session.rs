//! The connection to AWS: a tokio runtime, the SDK's shared configuration (region, profile,
//! credentials from the standard chain) and the HTTP client, for the S3 store and CloudTrail.
//!
//! trailcheck is synchronous: the engine runs on rayon threads, which are not runtime
//! threads, so they block on the SDK's futures through [`AwsSession::block_on`].

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use tokio::runtime::{Handle, Runtime};

use trailcheck_core::error::ConfigError;

/// How many times a request is tried: 5xx answers and throttling are retried with
/// exponential backoff and jitter (the SDK's standard mode) before the call gives up.
pub const MAX_ATTEMPTS: u32 = 5;
/// A connection that cannot be made in this long is a failed attempt (and retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One attempt that has not answered in this long fails; bodies are streamed, so this
/// bounds waiting for the headers, not reading a large object.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Runtime threads only drive sockets and timers; decompression and hashing happen on the
/// caller's (rayon) threads.
const RUNTIME_THREADS: usize = 2;

/// The AWS options of the command line, as the AWS CLI has them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Every bucket's region, instead of asking GetBucketLocation; also CloudTrail's default.
    pub region: Option<String>,
    /// A named profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// The S3 endpoint (an S3-compatible server); `AWS_ENDPOINT_URL_S3` works too.
    pub endpoint_url: Option<String>,
}

/// A runtime and the loaded SDK configuration.
pub struct AwsSession {
    runtime: Runtime,
    config: SdkConfig,
    options: AwsOptions,
}

impl AwsSession {
    /// Starts the runtime and loads the configuration (environment, profile files, SSO,
    /// instance roles). Credentials themselves are resolved at the first request.
    pub fn open(options: &AwsOptions) -> Result<Self, ConfigError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("trailcheck-aws")
            .enable_all()
            .build()
            .map_err(|e| ConfigError::Aws {
                why: format!("cannot start the network runtime: {e}"),
            })?;
        let config = runtime.block_on(load_config(options));
        Ok(Self {
            runtime,
            config,
            options: options.clone(),
        })
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn options(&self) -> &AwsOptions {
        &self.options
    }

    /// The region of the loaded configuration: `--region`, then the environment and profile.
    pub fn default_region(&self) -> Option<String> {
        self.config.region().map(|r| r.as_ref().to_owned())
    }

    pub fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// Runs a future to completion from a thread that is not a runtime thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

async fn load_config(options: &AwsOptions) -> SdkConfig {
    // rustls on ring: ring is already here for signatures, and aws-lc-rs (the SDK's default)
    // would add a C build of several minutes.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// True when S3 requests go to an endpoint the user chose, which may not resolve
/// `BUCKET.host` names: such endpoints are addressed path-style.
pub fn custom_s3_endpoint(options: &AwsOptions) -> bool {
    options.endpoint_url.is_some()
        || ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// What went wrong with a call, in words that say what to check.
pub fn describe<E>(call: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("no error code");
            let message = e.err().message().unwrap_or("");
            let advice = match status {
                403 => "; the credentials may not read this (check the IAM and bucket policies)",
                500..=599 => "; still failing after retries",
                _ => "",
            };
            let message = if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            };
            format!("{call} answered HTTP {status} {code}{message}{advice}")
        }
        SdkError::TimeoutError(_) => {
            format!("{call} timed out, also on every retry")
        }
        SdkError::DispatchFailure(_) => format!(
            "{call} could not be sent ({}); check the network and the endpoint URL",
            chain(error)
        ),
        SdkError::ResponseError(_) => {
            format!("{call} answer could not be read ({})", chain(error))
        }
        other => format!("{call} failed: {}", chain(other)),
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
