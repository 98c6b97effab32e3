"""What cfn-lint does not check in the three SAM templates.

Each check is a function returning a list of problems; every check also runs
against a deliberately broken copy of the template, so a check that could
never fail would fail here.
"""

import copy
import re
from pathlib import Path

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / "sam"
DIST = ROOT / "dist"
VIEWER_LIMIT = 1024 * 1024
# Lambda@Edge runs the managed Node.js and Python runtimes only.
EDGE_RUNTIMES = {"nodejs18.x", "nodejs20.x", "nodejs22.x", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13"}
# The only wildcards AWS requires: Lambda@Edge replicas log in every region.
ALLOWED_WILDCARD = re.compile(r"^arn:\$\{AWS::Partition\}:logs:\*:\$\{AWS::AccountId\}:log-group:/aws/lambda/us-east-1\.\$\{AppName\}-\$\{Environment\}-\*(:log-stream:\*)?$")


def load(name):
    template, matches = decode(str(SAM / name / "template.yaml"))
    assert not matches, matches
    return template


@pytest.fixture(scope="module")
def templates():
    return {name: load(name) for name in ["user-pool", "edge-functions", "distribution"]}


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(template):
    """Every IAM statement in roles and bucket policies, with where it is."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif res["Type"] in {"AWS::S3::BucketPolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            docs = [props["PolicyDocument"]]
        else:
            continue
        for doc in docs:
            for st in doc["Statement"]:
                yield name, st


def as_list(value):
    return value if isinstance(value, list) else [value]


def resource_text(resource):
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
    return None  # Ref / GetAtt: one named resource


# --- checks ---------------------------------------------------------------

def wildcard_problems(template):
    problems = []
    for where, st in statements(template):
        if st["Effect"] != "Allow":
            continue  # a Deny with wildcards only narrows access
        for action in as_list(st["Action"]):
            if "*" in action:
                problems.append(f"{where}: action {action}")
        for res in as_list(st.get("Resource", [])):
            text = resource_text(res)
            if text is None:
                continue
            if text == "*" or ("*" in text and not ALLOWED_WILDCARD.match(text) and not text.endswith("}/*")):
                problems.append(f"{where}: resource {text}")
    return problems


def public_bucket_problems(template):
    problems = []
    for name, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        block = props.get("PublicAccessBlockConfiguration", {})
        for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]:
            if block.get(flag) is not True:
                problems.append(f"{name}: {flag} is not true")
        if props.get("AccessControl", "Private") != "Private":
            problems.append(f"{name}: AccessControl {props['AccessControl']}")
        if props.get("OwnershipControls", {}).get("Rules", [{}])[0].get("ObjectOwnership") != "BucketOwnerEnforced":
            problems.append(f"{name}: ACLs not disabled (BucketOwnerEnforced)")
        if "BucketEncryption" not in props:
            problems.append(f"{name}: no default encryption")
    for where, st in statements(template):
        if st["Effect"] == "Allow" and "Principal" in st:
            principal = st["Principal"]
            if principal == "*" or principal.get("AWS") == "*" or principal != {"Service": "cloudfront.amazonaws.com"}:
                problems.append(f"{where}: bucket readable by {principal}")
            elif "AWS:SourceArn" not in st.get("Condition", {}).get("StringEquals", {}):
                problems.append(f"{where}: CloudFront access not limited to this distribution")
    return problems


def behaviours(template):
    dist = next(iter(resources(template, "AWS::CloudFront::Distribution").values()))
    config = dist["Properties"]["DistributionConfig"]
    return config, [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]


def https_problems(template):
    _, all_behaviours = behaviours(template)
    return [
        f"behaviour {b.get('PathPattern', 'default')}: {b['ViewerProtocolPolicy']}"
        for b in all_behaviours
        if b["ViewerProtocolPolicy"] not in {"redirect-to-https", "https-only"}
    ]


def edge_function_problems(template):
    problems = []
    globals_ = template.get("Globals", {}).get("Function", {})
    for name, fn in resources(template, "AWS::Serverless::Function").items():
        props = {**globals_, **fn["Properties"]}
        if props.get("Runtime") not in EDGE_RUNTIMES:
            problems.append(f"{name}: runtime {props.get('Runtime')} does not run at the edge")
        if props.get("Architectures") != ["x86_64"]:
            problems.append(f"{name}: architectures {props.get('Architectures')} (Lambda@Edge is x86_64 only)")
        for forbidden in ["Environment", "Layers", "VpcConfig"]:
            if forbidden in props:
                problems.append(f"{name}: {forbidden} is not allowed for Lambda@Edge")
        if "AutoPublishAlias" not in props:
            problems.append(f"{name}: no published version to attach")
    return problems


# --- the templates as they are --------------------------------------------

def test_no_wildcards_beyond_what_aws_requires(templates):
    for name, template in templates.items():
        assert wildcard_problems(template) == [], name


def test_bucket_is_private(templates):
    assert public_bucket_problems(templates["distribution"]) == []


def test_viewers_are_sent_to_https(templates):
    assert https_problems(templates["distribution"]) == []
    config, _ = behaviours(templates["distribution"])
    cert = config["ViewerCertificate"]["Fn::If"][1]
    assert cert["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["HttpVersion"] == "http2and3" and config["IPV6Enabled"] is True


def test_edge_functions_run_where_lambda_edge_runs(templates):
    assert edge_function_problems(templates["edge-functions"]) == []


def test_only_provider_functions_read_the_secret(templates):
    fns = resources(templates["edge-functions"], "AWS::Serverless::Function")
    readers = set()
    roles = templates["edge-functions"]["Resources"]
    for name, fn in fns.items():
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        text = repr(roles[role]["Properties"]["Policies"])
        if "secretsmanager:GetSecretValue" in text:
            readers.add(name)
    assert readers == {"SigninFunction", "RefreshFunction", "SignoutFunction"}


def test_triggers_and_auth_behaviours(templates):
    config, all_behaviours = behaviours(templates["distribution"])
    default = config["DefaultCacheBehavior"]
    events = {a["EventType"]: a["LambdaFunctionARN"]["Ref"] for a in default["LambdaFunctionAssociations"]}
    assert events == {"viewer-request": "AuthorizeVersionArn", "origin-request": "IndexPathVersionArn"}
    caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    auth = {b["PathPattern"]["Ref"]: b for b in config["CacheBehaviors"]}
    assert set(auth) == {"SigninPath", "RefreshPath", "SignoutPath"}
    policy = templates["distribution"]["Resources"]["AuthRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert policy["CookiesConfig"]["CookieBehavior"] == "all"
    assert policy["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    for behaviour in auth.values():
        assert behaviour["CachePolicyId"] == caching_disabled
        (assoc,) = behaviour["LambdaFunctionAssociations"]
        assert assoc["EventType"] == "origin-request"


def test_user_pool_client_is_code_flow_with_secret(templates):
    (client,) = resources(templates["user-pool"], "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"] and props["GenerateSecret"] is True
    (secret,) = resources(templates["user-pool"], "AWS::SecretsManager::Secret").values()
    assert "${AppClient.ClientSecret}" in secret["Properties"]["SecretString"]["Fn::Sub"]


def viewer_packages(templates):
    """distribution viewer-request trigger -> edge-functions output -> function -> zip."""
    config, all_behaviours = behaviours(templates["distribution"])
    edge = templates["edge-functions"]
    outputs = edge["Outputs"]
    zips = []
    for behaviour in all_behaviours:
        for assoc in behaviour.get("LambdaFunctionAssociations", []):
            if assoc["EventType"].startswith("viewer-"):
                function = outputs[assoc["LambdaFunctionARN"]["Ref"]]["Value"]["Ref"].split(".")[0]
                code_uri = edge["Resources"][function]["Properties"]["CodeUri"]
                zips.append(DIST / Path(code_uri).name)
    return zips


def test_viewer_request_packages_fit_1_mib(templates):
    zips = viewer_packages(templates)
    assert [z.name for z in zips] == ["authorize.zip"]
    for zip_path in zips:
        assert zip_path.exists(), f"{zip_path}: run scripts/package.py first"
        assert zip_path.stat().st_size <= VIEWER_LIMIT, f"{zip_path.name}: {zip_path.stat().st_size} bytes"


# --- every check can fail --------------------------------------------------

def test_checks_catch_broken_templates(templates):
    edge = copy.deepcopy(templates["edge-functions"])
    edge["Resources"]["ViewerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    edge["Resources"]["AuthorizeFunction"]["Properties"]["Architectures"] = ["arm64"]
    edge["Resources"]["IndexPathFunction"]["Properties"]["Runtime"] = "nodejs99.x"
    edge["Resources"]["SigninFunction"]["Properties"]["Environment"] = {"Variables": {"A": "b"}}
    assert len(wildcard_problems(edge)) == 1
    assert len(edge_function_problems(edge)) == 3

    dist = copy.deepcopy(templates["distribution"])
    dist["Resources"]["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False
    dist["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"}})
    dist["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"][0]["ViewerProtocolPolicy"] = "allow-all"
    assert len(public_bucket_problems(dist)) == 2
    assert len(https_problems(dist)) == 1
