//! The CloudFront Function's way to LIVE. CloudFormation creates and
//! changes it in its DEVELOPMENT stage only (the viewer-function template
//! sets `AutoPublish: false`); here CloudFront's own runtime runs the
//! staged code on the core's probes (`TestFunction`), and only when every
//! answer is the core's, none failed and none took more of the compute
//! budget than allowed, is it published (`PublishFunction`).
//!
//! What to send and what to expect is `edge_auth_core::function_probe`'s;
//! this module makes the calls and judges each result ([`judge`], which
//! holds no I/O and is tested on its own).

use aws_config::SdkConfig;
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::FunctionStage;
use edge_auth_core::function_probe::Probe;

use crate::aws::{self, AwsError};
use crate::aws_status;

/// What CloudFront's runtime said of one probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestOutcome {
    /// `FunctionOutput`: the event object the function returned.
    pub output: Option<String>,
    /// `FunctionErrorMessage`: the function threw, or ran out of budget.
    pub error: Option<String>,
    /// `ComputeUtilization`: % of the time budget the run took.
    pub utilization: Option<String>,
}

/// One probe's result against the core's answer and the limit: the
/// utilization when it passes, else why it does not.
pub fn judge(probe: &Probe, outcome: &TestOutcome, limit: u32) -> Result<u32, String> {
    if let Some(error) = outcome.error.as_deref().filter(|e| !e.is_empty()) {
        return Err(format!("the function failed: {error}"));
    }
    let utilization: u32 = outcome
        .utilization
        .as_deref()
        .ok_or("CloudFront gave no compute utilization")?
        .trim()
        .parse()
        .map_err(|_| {
            format!(
                "a compute utilization that is not a number: {:?}",
                outcome.utilization
            )
        })?;
    let output = outcome
        .output
        .as_deref()
        .ok_or("the function returned nothing")?;
    probe.check(output)?;
    if utilization > limit {
        return Err(format!(
            "compute utilization {utilization}%, over the limit of {limit}% (function.max_compute_utilization)"
        ));
    }
    Ok(utilization)
}

/// What a test run of every probe found.
#[derive(Debug, Default)]
pub struct TestReport {
    pub passed: usize,
    pub highest_utilization: u32,
    /// `<probe>: <why>` for each that failed.
    pub failures: Vec<String>,
}

impl std::fmt::Display for TestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} test requests answered as the core does, highest compute utilization {}%",
            self.passed,
            self.passed + self.failures.len(),
            self.highest_utilization
        )
    }
}

/// Runs every probe on `name` at `stage` in CloudFront's runtime. Every
/// probe is tried (the report names each that failed); a call CloudFront
/// refuses is an error.
pub async fn test(
    config: &SdkConfig,
    name: &str,
    stage: FunctionStage,
    probes: &[Probe],
    limit: u32,
) -> Result<TestReport, AwsError> {
    let client = aws::cloudfront(config);
    let etag = client
        .describe_function()
        .name(name)
        .stage(stage.clone())
        .send()
        .await
        .map_err(aws::call_error)?
        .e_tag()
        .unwrap_or_default()
        .to_owned();
    let mut report = TestReport::default();
    for probe in probes {
        let event = serde_json::to_vec(&probe.event).map_err(|e| AwsError::Call(e.to_string()))?;
        let answer = client
            .test_function()
            .name(name)
            .if_match(&etag)
            .stage(stage.clone())
            .event_object(Blob::new(event))
            .send()
            .await
            .map_err(|e| {
                AwsError::Call(format!(
                    "TestFunction ({}): {}",
                    probe.name,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            })?;
        let result = answer.test_result();
        let outcome = TestOutcome {
            output: result.and_then(|r| r.function_output()).map(str::to_owned),
            error: result
                .and_then(|r| r.function_error_message())
                .map(str::to_owned),
            utilization: result
                .and_then(|r| r.compute_utilization())
                .map(str::to_owned),
        };
        match judge(probe, &outcome, limit) {
            Ok(utilization) => {
                report.passed += 1;
                report.highest_utilization = report.highest_utilization.max(utilization);
            }
            Err(why) => report.failures.push(format!("{}: {why}", probe.name)),
        }
    }
    Ok(report)
}

/// What publishing did.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    /// LIVE already ran the tested code.
    AlreadyLive,
    Published {
        bytes: usize,
    },
}

/// DEVELOPMENT's code to LIVE, unless LIVE already runs it.
pub async fn publish(config: &SdkConfig, name: &str) -> Result<Published, AwsError> {
    let staged = aws_status::viewer_function(config, name, FunctionStage::Development)
        .await?
        .ok_or_else(|| AwsError::Call(format!("the function {name} has no DEVELOPMENT stage")))?;
    let live = aws_status::viewer_function(config, name, FunctionStage::Live).await?;
    if live.is_some_and(|l| l.code == staged.code) {
        return Ok(Published::AlreadyLive);
    }
    aws::cloudfront(config)
        .publish_function()
        .name(name)
        .if_match(&staged.etag)
        .send()
        .await
        .map_err(aws::call_error)?;
    Ok(Published::Published {
        bytes: staged.code.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_auth_core::function_probe::Answer;
    use serde_json::json;

    fn probe() -> Probe {
        Probe {
            name: "a directory path".into(),
            event: json!({}),
            expected: Answer::Forward {
                uri: "/docs/index.html".into(),
            },
        }
    }

    fn outcome(output: &str, utilization: &str) -> TestOutcome {
        TestOutcome {
            output: Some(output.into()),
            error: None,
            utilization: Some(utilization.into()),
        }
    }

    #[test]
    fn the_core_s_answer_within_the_budget_passes() {
        let ok = outcome(r#"{"request":{"uri":"/docs/index.html"}}"#, "12");
        assert_eq!(judge(&probe(), &ok, 70), Ok(12));
    }

    #[test]
    fn another_answer_an_error_or_an_overrun_is_refused() {
        let other = outcome(r#"{"request":{"uri":"/docs/"}}"#, "12");
        assert!(
            judge(&probe(), &other, 70).unwrap_err().contains(
                "answered forward /docs/ where the core answers forward /docs/index.html"
            )
        );
        let slow = outcome(r#"{"request":{"uri":"/docs/index.html"}}"#, "71");
        assert!(judge(&probe(), &slow, 70).unwrap_err().contains("71%"));
        let failed = TestOutcome {
            error: Some("TypeError: cannot read property".into()),
            ..slow.clone()
        };
        assert!(
            judge(&probe(), &failed, 70)
                .unwrap_err()
                .contains("TypeError")
        );
        for bad in ["", "not json", "{}", r#"{"response":{"statusCode":"x"}}"#] {
            assert!(judge(&probe(), &outcome(bad, "1"), 70).is_err(), "{bad}");
        }
        for bad in ["", "x", "-1"] {
            let o = outcome(r#"{"request":{"uri":"/docs/index.html"}}"#, bad);
            assert!(judge(&probe(), &o, 70).is_err(), "{bad}");
        }
        let none = TestOutcome::default();
        assert!(judge(&probe(), &none, 70).is_err());
    }
}
