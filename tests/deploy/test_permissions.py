"""The deployer's policy (`edge-auth-deploy policy`, docs/deploy-permissions.json)
against CloudFormation's own resource provider schemas and IAM's resource
types, as cfn-lint ships them:

- every resource type in the templates, after SAM's transform
  (aws-sam-translator), has every action of its own service that its
  handlers list allowed, and the tool's table of them is the schemas' own;
- every other action a handler lists is allowed or named as not needed,
  with a reason (and nothing is both, or named without a handler listing it);
- every allowed action is granted on a resource it applies to (IAM's
  resource types for the action), or on `*` only where IAM offers nothing
  narrower for these templates;
- Route 53 changes reach only the settings' hosted zone, and user-pool and
  CloudFront actions only their own resource types.
"""

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import cfnlint.data
import pytest
from cfnlint.decode import decode

from test_sam_commands import deploy_tool

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(cfnlint.data.__file__).parent
OWN_SERVICE = {"Lambda": "lambda", "IAM": "iam", "CloudFront": "cloudfront", "S3": "s3", "Route53": "route53", "Cognito": "cognito-idp",
               "SecretsManager": "secretsmanager", "WAFv2": "wafv2", "Logs": "logs", "CloudWatch": "cloudwatch", "SNS": "sns"}


# prod.toml with one more top-level setting.
VARIANTS = {"prod-lambda-edge": 'authorizer = "lambda-edge"\n',
            "prod-rate-limit": "rate_limit = { auth_requests = 300 }\n",
            "prod-monitoring": 'monitoring = { email = "ops@example.com" }\n'}


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    tool = deploy_tool()
    out = {}
    for name in ("prod", "preview", "prod-lambda-edge", "prod-rate-limit", "prod-monitoring", "corporate"):
        settings = ROOT / ("examples/corporate/corporate.toml" if name == "corporate" else f"deploy/{name}.toml")
        if name in VARIANTS:
            settings = tmp_path_factory.mktemp("settings") / f"{name}.toml"
            settings.write_text(VARIANTS[name] + (ROOT / "deploy/prod.toml").read_text())
        run = subprocess.run(
            [str(tool), "policy", "--settings", str(settings), "--explain"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        out[name] = json.loads(run.stdout)
    return out


def template_types():
    """Resource types of the four templates as CloudFormation sees them,
    after SAM's transform."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    types = set()
    # The user pool as the deploy renders it with corporate identity
    # providers ([[provider.federation]], examples/corporate).
    rendered = subprocess.run(
        [str(deploy_tool()), "federation", "--settings", str(ROOT / "examples/corporate/corporate.toml"), "--template"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    pool = Path(os.environ.get("TMPDIR", "/tmp")) / f"edge-auth-user-pool-{os.getpid()}.yaml"
    pool.write_text(rendered)
    for name in ("user-pool", "edge-functions", "auth-endpoints", "viewer-function", "distribution", "waf", "monitoring"):
        path = pool if name == "user-pool" else ROOT / "sam" / name / "template.yaml"
        template, matches = decode(str(path))
        assert not matches, matches
        template = copy.deepcopy(template)
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        # Any values that pass the parameters' patterns: the transform only
        # needs them to exist.
        parameters = {"ClientSecretArn": "arn:aws:secretsmanager:eu-north-1:123456789012:secret:x", "HostedDomainPrefix": "x",
                      "CallbackUrls": "https://a/cb", "LogoutUrls": "https://a/so",
                      "AuthorizeVersionArn": "arn:aws:lambda:us-east-1:123456789012:function:a:1",
                      "IndexPathVersionArn": "arn:aws:lambda:us-east-1:123456789012:function:b:1",
                      "Part": "edge", "DistributionId": "E123EXAMPLE"}
        transformed = transform(template, parameters, NoManagedPolicies())
        types |= {r["Type"] for r in transformed["Resources"].values()}
    return types


def schema_permissions(resource_type):
    registry = json.loads((DATA / "schemas/providers/us-east-1.json").read_text())
    schema = json.loads((DATA / "schemas/resources" / f"{registry[resource_type]}.json").read_text())
    return {p for handler in schema.get("handlers", {}).values() for p in handler.get("permissions", [])}


def allowed(policy):
    found = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
            found.setdefault(action, []).append(resources)
    return found


# Only the default deploys the CloudFront Function and its store; only a
# rate limit the web ACL.
FUNCTION_TYPES = {"AWS::CloudFront::Function", "AWS::CloudFront::KeyValueStore"}
WAF_TYPES = {"AWS::WAFv2::WebACL"}
# Only `[monitoring]` the alarms, filters, queries, dashboard and topic.
# Only a pool with corporate providers and managed login (examples/corporate)
# their resources.
POOL_TYPES = {"AWS::Cognito::UserPoolIdentityProvider", "AWS::Cognito::ManagedLoginBranding"}
MONITORING_TYPES = {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::Logs::MetricFilter",
                    "AWS::Logs::QueryDefinition", "AWS::SNS::Topic", "AWS::SNS::Subscription"}


def test_every_handler_action_is_allowed_or_explained(explained):
    for name in ("prod", "prod-lambda-edge", "prod-rate-limit", "prod-monitoring", "corporate"):
        if name in explained:
            handler_actions_allowed_or_explained(explained[name], name)


def handler_actions_allowed_or_explained(report, name):
    grants = allowed(report["policy"])
    not_needed = report["not_needed"]
    types = template_types()
    if name == "prod-lambda-edge":
        types -= FUNCTION_TYPES
    else:
        assert FUNCTION_TYPES <= types
    if name != "prod-rate-limit":
        types -= WAF_TYPES
    if name != "prod-monitoring":
        types -= MONITORING_TYPES
    else:
        assert MONITORING_TYPES <= types
    if name != "corporate":
        types -= POOL_TYPES
    else:
        assert POOL_TYPES <= types
    assert {"AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::Lambda::Url",
            "AWS::CloudFront::Distribution", "AWS::Cognito::UserPool", "AWS::SecretsManager::Secret"} <= types
    listed = set()
    for resource_type in sorted(types):
        permissions = schema_permissions(resource_type)
        listed |= permissions
        own = OWN_SERVICE[resource_type.split("::")[1]]
        own_actions = {p for p in permissions if p.split(":")[0] == own}
        # The tool's table is the schema's own list.
        assert set(report["handler_actions"].get(resource_type, [])) == own_actions, resource_type
        for action in sorted(own_actions):
            assert action in grants, f"{resource_type}: {action} (its own service) is not allowed"
        for action in sorted(permissions - own_actions):
            assert action in grants or action in not_needed, f"{resource_type}: {action} neither allowed nor explained"
    # The table names no type the templates do not have.
    assert set(report["handler_actions"]) <= types | FUNCTION_TYPES | WAF_TYPES | MONITORING_TYPES | POOL_TYPES
    for resource_type in (FUNCTION_TYPES | WAF_TYPES | MONITORING_TYPES | POOL_TYPES) - types:
        listed |= schema_permissions(resource_type)
    for action, why in not_needed.items():
        assert action in listed, f"{action} is explained but no handler lists it"
        assert action not in grants, f"{action} is both allowed and explained away"
        assert len(why) > 20, action
    # The three the issue found missing.
    for action in ("lambda:GetFunctionCodeSigningConfig", "lambda:GetRuntimeManagementConfig", "secretsmanager:GetSecretValue"):
        assert action in grants, action


def arn_patterns(service, action):
    """The ARN formats IAM applies `action` to, as regular expressions; []
    when IAM offers only `*`; None when IAM's list does not know it."""
    policies = json.loads((DATA / "AdditionalSpecs/Policies.json").read_text())
    spec = policies.get(service)
    if spec is None:
        return None
    entry = spec["Actions"].get(action.split(":", 1)[1].lower())
    if entry is None:
        return None
    resource_types = {k.lower(): v for k, v in spec["Resources"].items()}
    patterns = []
    for kind in entry.get("Resources", []):
        for fmt in resource_types.get(kind.lower(), {}).get("ARNFormats", []):
            regex = re.escape(fmt).replace(r"\.\*", ".*")
            regex = regex.replace(r"\$\{Partition\}", "aws").replace(r"\$\{Region\}", r"[a-z0-9-*]*").replace(r"\$\{Account\}", r"(\d{12}|\*)")
            patterns.append(regex)
    return patterns


def test_every_action_is_granted_where_it_applies(explained):
    for name, report in explained.items():
        on_any = set(report["on_any_resource"])
        for action, resource_lists in allowed(report["policy"]).items():
            service, _ = action.split(":")
            patterns = arn_patterns(service, action)
            for resources in resource_lists:
                if resources == ["*"]:
                    assert patterns is None or patterns == [] or action in on_any or action.startswith("cloudformation:"), (
                        f"{name}: {action} on * though IAM scopes it")
                    continue
                assert patterns != [], f"{name}: {action} takes only * in IAM, granted on {resources}"
                if patterns is None:
                    continue
                for resource in resources:
                    # The ARN as IAM would match it: our wildcards stand for any value.
                    assert any(re.fullmatch(p, resource) or re.fullmatch(p, resource.replace("*", "x")) for p in patterns), (
                        f"{name}: {action} does not apply to {resource} ({patterns})")


def test_narrowed_to_the_zone_user_pools_and_cloudfront_types(explained):
    prod = allowed(explained["prod"]["policy"])
    assert prod["route53:ChangeResourceRecordSets"] == [["arn:aws:route53:::hostedzone/Z0000000000EXAMPLE"]]
    preview = allowed(explained["preview"]["policy"])
    assert not any(a.startswith("route53:") for a in preview), "no hosted zone: no Route 53 at all"
    on_any = set(explained["prod"]["on_any_resource"])
    for action, resource_lists in prod.items():
        if action.startswith("cognito-idp:") and action not in on_any:
            assert resource_lists == [["arn:aws:cognito-idp:eu-north-1:*:userpool/*"]], action
        if action.startswith("cloudfront:") and action not in on_any:
            for resources in resource_lists:
                assert resources != ["*"], action


def test_the_policy_checks_catch_a_broken_policy(explained):
    """The checks above, on a policy with a hole and a widened grant."""
    report = copy.deepcopy(explained["prod"])
    for statement in report["policy"]["Statement"]:
        if statement["Sid"] == "Functions":
            statement["Action"].remove("lambda:GetRuntimeManagementConfig")
        if statement["Sid"] == "UserPools":
            statement["Resource"] = "*"
    with pytest.raises(AssertionError, match="GetRuntimeManagementConfig"):
        test_every_handler_action_is_allowed_or_explained({"prod": report})
    with pytest.raises(AssertionError):
        test_narrowed_to_the_zone_user_pools_and_cloudfront_types({"prod": report, "preview": explained["preview"]})
    # An action IAM scopes, granted on `*`; and one granted on a resource it
    # does not apply to.
    report = copy.deepcopy(explained["prod"])
    report["policy"]["Statement"].append({"Sid": "Wide", "Effect": "Allow", "Action": ["lambda:CreateFunction"], "Resource": "*"})
    with pytest.raises(AssertionError, match="lambda:CreateFunction on \\*"):
        test_every_action_is_granted_where_it_applies({"prod": report})
    report = copy.deepcopy(explained["prod"])
    report["policy"]["Statement"].append({"Sid": "Wrong", "Effect": "Allow", "Action": ["cognito-idp:CreateGroup"], "Resource": "arn:aws:s3:::x"})
    with pytest.raises(AssertionError, match="does not apply"):
        test_every_action_is_granted_where_it_applies({"prod": report})


def test_the_rate_limit_adds_its_web_acl_and_nothing_else(explained):
    """Only `[rate_limit]` brings AWS WAF into the policy: its own web ACLs,
    in us-east-1, and its stack there."""
    plain = allowed(explained["prod"]["policy"])
    limited = allowed(explained["prod-rate-limit"]["policy"])
    assert not any(a.startswith("wafv2:") for a in plain)
    added = set(limited) - set(plain)
    assert added == {a for a in explained["prod-rate-limit"]["handler_actions"]["AWS::WAFv2::WebACL"]}, added
    assert limited["wafv2:CreateWebACL"] == [["arn:aws:wafv2:us-east-1:*:global/webacl/edge-auth-prod-*/*"]]
    assert limited["wafv2:listWebACLs"] == [["*"]]
    assert any("arn:aws:cloudformation:us-east-1:*:stack/edge-auth-prod-*/*" in r for r in limited["cloudformation:CreateChangeSet"])
    assert not any("us-east-1" in r for rs in plain["cloudformation:CreateChangeSet"] for r in rs)
    # Over IAM's 10,240 characters for a role's inline policies, it is
    # attached as customer managed policies (`policy --split`, each at most
    # 6,144); crates/deploy/tests/permissions.rs holds the split.
    size = len(json.dumps(explained["prod-rate-limit"]["policy"], separators=(",", ":")))
    assert size <= 10240 + 1024, size


def test_monitoring_adds_its_own_resources_and_nothing_else(explained):
    """Only `[monitoring]` brings CloudWatch, CloudWatch Logs and SNS into the
    policy: the deployment's log groups, alarms, dashboard and topic, and
    its stack in us-east-1."""
    plain = allowed(explained["prod"]["policy"])
    watched = allowed(explained["prod-monitoring"]["policy"])
    services = ("logs:", "cloudwatch:", "sns:")
    assert not any(a.startswith(services) for a in plain)
    added = {a for a in set(watched) - set(plain) if a.startswith(services)}
    handlers = explained["prod-monitoring"]["handler_actions"]
    expected = {a for t in MONITORING_TYPES for a in handlers[t]} | {"logs:CreateLogGroup", "logs:PutRetentionPolicy"}
    assert added == expected, added ^ expected
    assert watched["logs:PutMetricFilter"] == [[
        "arn:aws:logs:eu-north-1:*:log-group:/aws/lambda/edge-auth-prod-auth-*",
        "arn:aws:logs:us-east-1:*:log-group:/aws/cloudfront/function/edge-auth-prod-*"]]
    assert watched["cloudwatch:PutMetricAlarm"] == [["arn:aws:cloudwatch:*:*:alarm:edge-auth-prod-*"]]
    assert watched["cloudwatch:PutDashboard"] == [["arn:aws:cloudwatch::*:dashboard/edge-auth-prod"]]
    assert watched["sns:CreateTopic"] == [["arn:aws:sns:*:*:edge-auth-prod-alarms*"]]
    assert any("arn:aws:cloudformation:us-east-1:*:stack/edge-auth-prod-*/*" in r for r in watched["cloudformation:CreateChangeSet"])
