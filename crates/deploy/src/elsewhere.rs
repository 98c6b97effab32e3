//! A deployment of the same application and environment in another
//! region. CloudFront's objects (the function, its key value store, the
//! origin access control, the policies, the aliases) are named account-wide
//! while stacks are regional: a distribution stack of these names in any
//! other region makes a deploy fail on names it holds, halfway. So the tool
//! looks in every commercial region before the first step, and `destroy`
//! names what it finds there.

use crate::aws;
use crate::settings::Settings;

/// AWS's commercial regions (CloudFormation's endpoints), as of
/// December 2026; opt-in regions not enabled for the account answer with an
/// error and count as holding nothing.
pub const REGIONS: [&str; 34] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The stacks holding CloudFront's account-wide names (the distribution's
/// policies and aliases, the function and its store).
fn global_stacks(settings: &Settings) -> [String; 2] {
    [
        settings.stack_name("distribution"),
        settings.stack_name("viewer-function"),
    ]
}

/// The (region, stack) pairs, in regions other than the settings' own, of
/// a distribution or viewer-function stack of these names; the lookups run
/// side by side.
pub async fn distribution_elsewhere(settings: &Settings) -> Vec<(String, String)> {
    // The credentials are found once; each lookup only changes the region.
    let base = aws::sdk_config(&settings.regions.distribution, None).await;
    let mut lookups = tokio::task::JoinSet::new();
    for (stack, region) in REGIONS
        .iter()
        .filter(|r| **r != settings.regions.distribution)
        .flat_map(|r| global_stacks(settings).map(|s| (s, r)))
    {
        let region = region.to_string();
        let config = base
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        lookups.spawn(async move {
            // An error (a region not enabled, a call refused) is no stack.
            match aws::stack_status(&config, &stack).await {
                Ok(Some(status)) if status.as_str() != "DELETE_COMPLETE" => Some((region, stack)),
                _ => None,
            }
        });
    }
    let mut found: Vec<(String, String)> = lookups.join_all().await.into_iter().flatten().collect();
    found.sort();
    found
}

/// What to do about `stack` (a distribution or viewer-function stack of
/// these names) in `region`.
pub fn remedy(settings: &Settings, region: &str, stack: &str) -> String {
    format!(
        "{stack} exists in {region}, and regions.distribution says {}: CloudFront's names (function, key value store, policies) are account-wide, so a deploy here would fail on the ones it holds. Remove that deployment first: `edge-auth-deploy destroy` with settings whose regions.distribution is {region} (or aws cloudformation delete-stack --region {region} --stack-name {stack}), or set regions.distribution back to {region}",
        settings.regions.distribution
    )
}
