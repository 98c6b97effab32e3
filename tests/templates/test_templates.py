"""What cfn-lint does not check in the four SAM templates.

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
# The regional functions' log groups: their own region, their three names
# (`<app>-<env>-auth-signin` ...), and the streams Lambda names itself.
REGIONAL_LOGS = re.compile(r"^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:/aws/lambda/\$\{AppName\}-\$\{Environment\}-auth-\*(:log-stream:\*)?$")
# CloudFront's managed policies.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
AUTH_FUNCTIONS = {"signin": "Signin", "refresh": "Refresh", "signout": "Signout"}


def load(name):
    template, matches = decode(str(SAM / name / "template.yaml"))
    assert not matches, matches
    return template


@pytest.fixture(scope="module")
def templates():
    return {name: load(name) for name in ["user-pool", "edge-functions", "auth-endpoints", "viewer-function", "distribution", "site-grants"]}


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(template):
    """Every IAM statement in roles and bucket policies, with where it is."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in policies(props)]
        elif res["Type"] in {"AWS::S3::BucketPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"}:
            docs = [props["PolicyDocument"]]
        else:
            continue
        for doc in docs:
            for st in doc["Statement"]:
                yield name, st


def policies(role_properties):
    """A role's inline policies, each side of an `Fn::If` included."""
    for policy in role_properties.get("Policies", []):
        if "Fn::If" in policy:
            _, *sides = policy["Fn::If"]
            yield from (side for side in sides if side != {"Ref": "AWS::NoValue"})
        else:
            yield policy


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
            allowed = ALLOWED_WILDCARD.match(text) or REGIONAL_LOGS.match(text) or text.endswith("}/*")
            if text == "*" or ("*" in text and not allowed):
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


def cache_behaviours(config):
    """The path behaviours, a conditional one (`!If [Cond, {...},
    !Ref AWS::NoValue]`: the token exchange's) as the behaviour it is."""
    listed = []
    for b in config.get("CacheBehaviors", []):
        if "Fn::If" in b:
            _, b, absent = b["Fn::If"]
            assert absent == {"Ref": "AWS::NoValue"}
        listed.append(b)
    return listed


def behaviours(template):
    dist = next(iter(resources(template, "AWS::CloudFront::Distribution").values()))
    config = dist["Properties"]["DistributionConfig"]
    return config, [config["DefaultCacheBehavior"], *cache_behaviours(config)]


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
        elif props.get("AutoPublishAliasAllProperties") is not True:
            problems.append(f"{name}: a change other than code publishes no new version")
    return problems


def regional_function_problems(template):
    """The auth endpoints: arm64 lambda_runtime binaries on provided.al2023."""
    problems = []
    globals_ = template.get("Globals", {}).get("Function", {})
    fns = resources(template, "AWS::Serverless::Function")
    if set(fns) != {f"{n}Function" for n in AUTH_FUNCTIONS.values()}:
        problems.append(f"functions {sorted(fns)}")
    for name, fn in fns.items():
        props = {**globals_, **fn["Properties"]}
        if props.get("Runtime") != "provided.al2023" or props.get("Handler") != "bootstrap":
            problems.append(f"{name}: {props.get('Runtime')} {props.get('Handler')}, not a bootstrap on provided.al2023")
        if props.get("Architectures") != ["arm64"]:
            problems.append(f"{name}: architectures {props.get('Architectures')}")
        if "regional/" not in props.get("CodeUri", ""):
            problems.append(f"{name}: CodeUri {props.get('CodeUri')} is not a regional zip")
        # SAM merges a function's variables into the Globals' ones.
        variables = {**globals_.get("Environment", {}).get("Variables", {}),
                     **fn["Properties"].get("Environment", {}).get("Variables", {})}
        site = variables.get("EDGE_AUTH_SITE_URL")
        if site != {"Ref": "SiteUrl"}:
            problems.append(f"{name}: EDGE_AUTH_SITE_URL is {site}")
        # A flood of auth requests may use only the reserved executions
        # (the deploy setting auth_concurrency; 0 reserves none).
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved != {"Fn::If": ["HasAuthConcurrency", {"Ref": "AuthConcurrency"}, {"Ref": "AWS::NoValue"}]}:
            problems.append(f"{name}: reserved concurrency {reserved}")
    condition = template.get("Conditions", {}).get("HasAuthConcurrency")
    if condition != {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthConcurrency"}, "0"]}]}:
        problems.append(f"HasAuthConcurrency is {condition}")
    return problems


def function_url_problems(template):
    """Each function URL takes only SigV4-signed calls (AWS_IAM), and the only
    principal allowed to make them is CloudFront, from this account, and once
    the distribution exists from it alone, through the URL: both grants Lambda
    asks for, nothing more, the second waiting for the first (concurrent
    changes to one function's policy conflict)."""
    problems = []
    fns = resources(template, "AWS::Serverless::Function")
    for name, fn in fns.items():
        auth = fn["Properties"].get("FunctionUrlConfig", {}).get("AuthType")
        if auth != "AWS_IAM":
            problems.append(f"{name}: function URL AuthType {auth}")
    grants = {name: {} for name in fns}
    permissions = resources(template, "AWS::Lambda::Permission")
    for name, perm in permissions.items():
        props = perm["Properties"]
        target = props["FunctionName"].get("Ref") if isinstance(props["FunctionName"], dict) else None
        if props.get("Principal") != "cloudfront.amazonaws.com":
            problems.append(f"{name}: principal {props.get('Principal')}")
        # This account's distributions by a SourceArn (as Lambda documents
        # it for CloudFront) until the distribution exists, then that one.
        narrowed = {"Fn::If": ["HasDistribution", {"Ref": "DistributionArn"},
                               {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}]}
        # Switched off only for a site table, whose grants stacks grant
        # each site's distribution (`site_grants_problems`).
        if props.get("SourceArn") != narrowed or perm.get("Condition", "OwnGrants") != "OwnGrants":
            problems.append(f"{name}: not narrowed to this account's distributions, then to the distribution once it exists")
        if props.get("SourceAccount") != {"Ref": "AWS::AccountId"} or "PrincipalOrgID" in props:
            problems.append(f"{name}: not limited to this account")
        action = props.get("Action")
        if action == "lambda:InvokeFunctionUrl" and props.get("FunctionUrlAuthType") == "AWS_IAM":
            grants.setdefault(target, {})["url"] = name
        elif action == "lambda:InvokeFunction" and props.get("InvokedViaFunctionUrl") is True:
            grants.setdefault(target, {})["invoke"] = name
        else:
            problems.append(f"{name}: {action} beyond what a function URL origin needs")
    for name, got in grants.items():
        if set(got) != {"url", "invoke"}:
            problems.append(f"{name}: CloudFront granted {sorted(got)}, needs InvokeFunctionUrl and InvokeFunction")
            continue
        depends = permissions[got["invoke"]].get("DependsOn")
        if depends not in (got["url"], [got["url"]]):
            problems.append(f"{name}: its two grants are not one after the other")
    return problems


# A site table's sites take these from its policies stack (Part=policies,
# the same template): each reference is `Fn::If [SharedPolicies, the
# parameter, the stack's own]`, and the stack's own is what is checked.
SHARED = {"OriginAccessControl": "SiteAccessControlId", "FunctionUrlAccessControl": "FunctionUrlAccessControlId",
          "SecurityHeaders": "SecurityHeadersPolicyId", "AuthSecurityHeaders": "AuthSecurityHeadersPolicyId"}


def own(value):
    """The stack's own resource a possibly shared reference names; a
    shared parameter that is not that resource's is returned as is (and
    fails the caller's check)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"] and value["Fn::If"][0] == "SharedPolicies":
        _, shared, mine = value["Fn::If"]
        target = mine.get("Ref") or (mine.get("Fn::GetAtt") or [None])[0]
        if shared == {"Ref": SHARED.get(target)}:
            return mine
    return value


def regional_origin_problems(template):
    """Regional arrangement: each auth path goes, uncached, to its own function
    URL origin, signed by a Lambda Origin Access Control, over HTTPS, with
    the viewer's cookies and query but not its Host."""
    problems = []
    config, _ = behaviours(template)
    oac = template["Resources"].get("FunctionUrlAccessControl", {})
    oac_config = oac.get("Properties", {}).get("OriginAccessControlConfig", {})
    if (oac_config.get("OriginAccessControlOriginType"), oac_config.get("SigningBehavior")) != ("lambda", "always"):
        problems.append(f"origin access control {oac_config}")
    origins = {}
    for origin in config["Origins"]:
        if isinstance(origin, dict) and "Fn::If" in origin:
            condition, origin, _ = origin["Fn::If"]
            if condition != "AuthRegional":
                problems.append(f"origin {origin.get('Id')} under {condition}")
        origins[origin["Id"]] = origin
    for path_name, fn in AUTH_FUNCTIONS.items():
        origin = origins.get(path_name)
        if origin is None:
            problems.append(f"no {path_name} origin")
            continue
        if origin.get("DomainName") != {"Ref": f"{fn}OriginDomain"}:
            problems.append(f"{path_name}: origin {origin.get('DomainName')}")
        if own(origin.get("OriginAccessControlId")) != {"Fn::GetAtt": ["FunctionUrlAccessControl", "Id"]}:
            problems.append(f"{path_name}: origin not signed")
        if origin.get("CustomOriginConfig", {}).get("OriginProtocolPolicy") != "https-only":
            problems.append(f"{path_name}: origin not HTTPS only")
    auth = {b["PathPattern"]["Ref"]: b for b in cache_behaviours(config)}
    # The start endpoint (paths.start) is served by signin.
    served_by = [(f"{fn}Path", path_name) for path_name, fn in AUTH_FUNCTIONS.items()]
    served_by.append(("SigninStartPath", "signin"))
    for parameter, path_name in served_by:
        behaviour = auth.get(parameter, {})
        if behaviour.get("TargetOriginId") != {"Fn::If": ["AuthRegional", path_name, "site"]}:
            problems.append(f"{parameter}: target {behaviour.get('TargetOriginId')}")
        if behaviour.get("CachePolicyId") != CACHING_DISABLED:
            problems.append(f"{parameter}: cached")
        policy = behaviour.get("OriginRequestPolicyId", {}).get("Fn::If", [None, None])
        if policy[:2] != ["AuthRegional", ALL_VIEWER_EXCEPT_HOST_HEADER]:
            problems.append(f"{parameter}: origin request policy {policy}")
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


def test_regional_functions_are_arm64_bootstraps(templates):
    assert regional_function_problems(templates["auth-endpoints"]) == []


def site_grants_problems(template):
    """A site table's grants stack: both grants for each of the three
    function URLs, to CloudFront from this account for the site's one
    distribution, never conditional, the second after the first."""
    problems = []
    permissions = resources(template, "AWS::Lambda::Permission")
    by_function = {}
    for name, perm in permissions.items():
        props = perm["Properties"]
        if props.get("Principal") != "cloudfront.amazonaws.com" or props.get("SourceAccount") != {"Ref": "AWS::AccountId"}:
            problems.append(f"{name}: not CloudFront of this account")
        if props.get("SourceArn") != {"Ref": "DistributionArn"} or "Condition" in perm:
            problems.append(f"{name}: not the site's distribution alone")
        action = props.get("Action")
        kind = {"lambda:InvokeFunctionUrl": "url", "lambda:InvokeFunction": "invoke"}.get(action)
        if kind == "url" and props.get("FunctionUrlAuthType") != "AWS_IAM":
            kind = None
        if kind == "invoke" and props.get("InvokedViaFunctionUrl") is not True:
            kind = None
        if kind is None:
            problems.append(f"{name}: {action} beyond what a function URL origin needs")
            continue
        by_function.setdefault(props["FunctionName"].get("Ref"), {})[kind] = name
    if sorted(by_function) != ["RefreshFunctionArn", "SigninFunctionArn", "SignoutFunctionArn"]:
        problems.append(f"grants for {sorted(by_function)}")
    for function, got in by_function.items():
        if set(got) != {"url", "invoke"}:
            problems.append(f"{function}: {sorted(got)}")
        elif permissions[got["invoke"]].get("DependsOn") not in (got["url"], [got["url"]]):
            problems.append(f"{function}: its two grants are not one after the other")
    return problems


def test_a_site_tables_grants_name_each_sites_distribution_alone(templates):
    assert site_grants_problems(templates["site-grants"]) == []
    # And the check is not blind: the account-wide form is refused.
    broken = copy.deepcopy(templates["site-grants"])
    broken["Resources"]["SigninUrlCalledByCloudFront"]["Properties"]["SourceArn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}
    del broken["Resources"]["SignoutInvokedByCloudFront"]
    assert len(site_grants_problems(broken)) == 2
    # The auth stack's own grants are off exactly in that arrangement.
    auth = templates["auth-endpoints"]
    assert auth["Conditions"]["OwnGrants"] == {"Fn::Equals": [{"Ref": "Grants"}, "stack"]}
    assert auth["Parameters"]["Grants"]["AllowedValues"] == ["stack", "per-site"]


def test_function_urls_are_reachable_only_through_the_distribution(templates):
    assert function_url_problems(templates["auth-endpoints"]) == []
    # The distribution ARN the grants name is the one the distribution
    # stack puts out (the deploy tool passes it on; crates/deploy's wiring
    # tests hold the parameter to the output).
    arn = templates["distribution"]["Outputs"]["DistributionArn"]["Value"]["Fn::Sub"]
    assert arn.endswith(":distribution/${Distribution}")


def test_regional_auth_paths_go_to_the_function_urls(templates):
    assert regional_origin_problems(templates["distribution"]) == []
    outputs = templates["auth-endpoints"]["Outputs"]
    for fn in AUTH_FUNCTIONS.values():
        value = outputs[f"{fn}OriginDomain"]["Value"]
        assert value == {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": [f"{fn}FunctionUrl", "FunctionUrl"]}]}]}


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
    for name in readers:
        assert fns[name].get("Condition") == "AuthAtEdge", name
    assert roles["ProviderRole"].get("Condition") == "AuthAtEdge"


def test_sign_out_alone_writes_the_store_and_only_its_revocations(templates):
    auth = templates["auth-endpoints"]
    fns = resources(auth, "AWS::Serverless::Function")
    roles = {name: fn["Properties"]["Role"]["Fn::GetAtt"][0] for name, fn in fns.items()}
    assert roles == {"SigninFunction": "AuthEndpointsRole", "RefreshFunction": "AuthEndpointsRole",
                     "SignoutFunction": "SignoutRole"}
    store_actions = {name: [(a, st.get("Resource")) for a in as_list(st["Action"]) if a.startswith("cloudfront-keyvaluestore:")]
                     for name, st in statements(auth)}
    writes = [(name, a) for name, actions in store_actions.items() for a in actions]
    assert writes == [("SignoutStorePolicy", ("cloudfront-keyvaluestore:DescribeKeyValueStore", {"Ref": "KeyValueStoreArn"})),
                      ("SignoutStorePolicy", ("cloudfront-keyvaluestore:GetKey", {"Ref": "KeyValueStoreArn"})),
                      ("SignoutStorePolicy", ("cloudfront-keyvaluestore:PutKey", {"Ref": "KeyValueStoreArn"}))], writes
    store_policy = auth["Resources"]["SignoutStorePolicy"]
    assert store_policy["Condition"] == "HasStore"
    assert store_policy["Type"] == "AWS::IAM::RolePolicy"
    assert store_policy["Properties"]["RoleName"] == {"Ref": "SignoutRole"}
    # Otherwise the two roles grant the same (logs, the secret, the keys).
    assert auth["Resources"]["SignoutRole"]["Properties"]["Policies"] == \
        auth["Resources"]["AuthEndpointsRole"]["Properties"]["Policies"]
    env = fns["SignoutFunction"]["Properties"]["Environment"]["Variables"]
    assert env == {"EDGE_AUTH_KEY_VALUE_STORE_ARN": {"Ref": "KeyValueStoreArn"}}
    assert "Environment" not in fns["SigninFunction"]["Properties"]
    lambda_rs = (ROOT / "crates/provider/src/store.rs").read_text()
    assert 'STORE_ARN_VARIABLE: &str = "EDGE_AUTH_KEY_VALUE_STORE_ARN"' in lambda_rs


def test_triggers_and_auth_behaviours(templates):
    config, all_behaviours = behaviours(templates["distribution"])
    default = config["DefaultCacheBehavior"]
    # Authorizer=lambda-edge: authorize and index-path; the default: the
    # CloudFront Function alone, index-path folded into it.
    condition, no_lambda, lambdas = default["LambdaFunctionAssociations"]["Fn::If"]
    assert condition == "ViewerFunction" and no_lambda == {"Ref": "AWS::NoValue"}
    events = {a["EventType"]: a["LambdaFunctionARN"]["Ref"] for a in lambdas}
    assert events == {"viewer-request": "AuthorizeVersionArn", "origin-request": "IndexPathVersionArn"}
    condition, (function,), no_function = default["FunctionAssociations"]["Fn::If"]
    assert condition == "ViewerFunction" and no_function == {"Ref": "AWS::NoValue"}
    # The viewer-function stack's published function, by ARN.
    assert function == {"EventType": "viewer-request", "FunctionARN": {"Ref": "ViewerFunctionArn"}}
    caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    auth = {b["PathPattern"]["Ref"]: b for b in cache_behaviours(config)}
    assert set(auth) == {"SigninPath", "SigninStartPath", "RefreshPath", "SignoutPath", "TokenPath", "SharePath"}
    # The token exchange and shared links: only with their paths set
    # (tokens.trust, [shares]), served by signin's function URL, no
    # function of the edge on them; the exchange never over http.
    conditional = [b["Fn::If"][0] for b in config["CacheBehaviors"] if "Fn::If" in b]
    assert conditional == ["TokenExchange", "SharedLinks"]
    for parameter, rule, protocol in [("TokenPath", "TokenExchangeNeedsRegionalEndpoints", "https-only"),
                                      ("SharePath", "SharedLinksNeedRegionalEndpoints", "redirect-to-https")]:
        behaviour = auth.pop(parameter)
        assert behaviour["TargetOriginId"] == auth["SigninPath"]["TargetOriginId"]
        assert behaviour["ViewerProtocolPolicy"] == protocol
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
        assert behaviour["CachePolicyId"] == caching_disabled
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert "LambdaFunctionAssociations" not in behaviour and "FunctionAssociations" not in behaviour
        assertion = templates["distribution"]["Rules"][rule]["Assertions"][0]["Assert"]
        assert assertion == {"Fn::Equals": [{"Ref": "AuthEndpoints"}, "regional"]}
    # The start endpoint is served by signin, in both arrangements.
    start = auth["SigninStartPath"]
    assert start["TargetOriginId"] == auth["SigninPath"]["TargetOriginId"]
    assert start["LambdaFunctionAssociations"] == auth["SigninPath"]["LambdaFunctionAssociations"]
    policy = templates["distribution"]["Resources"]["AuthRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert policy["CookiesConfig"]["CookieBehavior"] == "all"
    assert policy["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    # Every header the core reads on these paths reaches the functions at
    # the edge, and the local edge forwards the same (emulator's
    # AUTH_POLICY_HEADERS).
    forwarded = {h.lower() for h in policy["HeadersConfig"]["Headers"]}
    assert {"host", "accept", "sec-fetch-mode", "sec-fetch-site", "sec-purpose", "purpose", "x-requested-with"} <= forwarded
    emulator = (ROOT / "crates/emulator/src/cloudfront.rs").read_text()
    listed = re.search(r"AUTH_POLICY_HEADERS: &\[&str\] = &\[(.*?)\];", emulator, re.S).group(1)
    assert set(re.findall(r'"([a-z-]+)"', listed)) == forwarded
    for behaviour in auth.values():
        assert behaviour["CachePolicyId"] == caching_disabled
        condition, (assoc,), regional = behaviour["LambdaFunctionAssociations"]["Fn::If"]
        assert condition == "AuthAtEdge" and regional == {"Ref": "AWS::NoValue"}
        assert assoc["EventType"] == "origin-request"


def test_user_pool_client_is_code_flow_with_secret(templates):
    (client,) = resources(templates["user-pool"], "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"] and props["GenerateSecret"] is True
    (secret,) = resources(templates["user-pool"], "AWS::SecretsManager::Secret").values()
    assert "${AppClient.ClientSecret}" in secret["Properties"]["SecretString"]["Fn::Sub"]


def test_the_app_client_rotates_refresh_tokens_without_the_flow_cognito_refuses(templates):
    pool = templates["user-pool"]
    (client,) = resources(pool, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert pool["Parameters"]["RefreshTokenRotation"]["Default"] == "ENABLED"
    grace = pool["Parameters"]["RefreshTokenRotationGraceSeconds"]
    assert (grace["MinValue"], grace["MaxValue"]) == (0, 60)
    assert pool["Conditions"]["RotatesRefreshTokens"] == {"Fn::Equals": [{"Ref": "RefreshTokenRotation"}, "ENABLED"]}
    rotation = props["RefreshTokenRotation"]
    assert rotation["Feature"] == {"Ref": "RefreshTokenRotation"}
    assert rotation["RetryGracePeriodSeconds"]["Fn::If"][0] == "RotatesRefreshTokens"
    # Rotating: no REFRESH_TOKEN_AUTH (Cognito refuses it), and a list
    # (absent, Cognito's default would include it). Not rotating: it alone.
    # Managed login adds USER_AUTH (its choice of first factor) to either.
    managed_condition, managed, classic = props["ExplicitAuthFlows"]["Fn::If"]
    assert managed_condition == "ManagedLogin"
    for flows, extra in ((classic, []), (managed, ["ALLOW_USER_AUTH"])):
        condition, rotating, plain = flows["Fn::If"]
        assert condition == "RotatesRefreshTokens"
        assert rotating and "ALLOW_REFRESH_TOKEN_AUTH" not in rotating
        assert plain == ["ALLOW_REFRESH_TOKEN_AUTH", *extra]
        assert [f for f in rotating if f != "ALLOW_USER_SRP_AUTH"] == extra


def test_the_viewer_function_reads_its_own_key_value_store(templates):
    viewer = templates["viewer-function"]
    function = viewer["Resources"]["ViewerRequestFunction"]
    assert set(viewer["Resources"]) == {"ViewerRequestFunction", "SessionKeyStore"}
    props = function["Properties"]
    # Staged only: edge-auth-deploy publishes it after CloudFront's runtime
    # has answered its test requests as the core does.
    assert props["AutoPublish"] is False
    assert props["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert props["FunctionConfig"]["KeyValueStoreAssociations"] == [{"KeyValueStoreARN": {"Fn::GetAtt": ["SessionKeyStore", "Arn"]}}]
    # The placeholder edge-auth-deploy replaces (template.rs's marker).
    assert props["FunctionCode"].endswith("// EDGE_AUTH_VIEWER_REQUEST_FUNCTION")
    assert "statusCode: 503" in props["FunctionCode"]
    assert viewer["Outputs"]["KeyValueStoreArn"]["Value"] == {"Fn::GetAtt": ["SessionKeyStore", "Arn"]}
    assert viewer["Outputs"]["FunctionArn"]["Value"] == {"Fn::GetAtt": ["ViewerRequestFunction", "FunctionARN"]}
    # The distribution holds neither; it takes the function's ARN, which the
    # default cannot do without.
    dist = templates["distribution"]
    assert not resources(dist, "AWS::CloudFront::Function") and not resources(dist, "AWS::CloudFront::KeyValueStore")
    assert dist["Conditions"]["ViewerFunction"] == {"Fn::Equals": [{"Ref": "Authorizer"}, "cloudfront-function"]}
    needs_arn = dist["Rules"]["ViewerFunctionNeedsItsArn"]
    assert needs_arn["RuleCondition"] == {"Fn::Equals": [{"Ref": "Authorizer"}, "cloudfront-function"]}
    assert needs_arn["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ViewerFunctionArn"}, ""]}]}
    # The default is the function, and it goes with regional endpoints only.
    assert dist["Parameters"]["Authorizer"]["Default"] == "cloudfront-function"
    rule = dist["Rules"]["FunctionNeedsRegionalEndpoints"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AuthEndpoints"}, "regional"]}


def viewer_packages(templates):
    """distribution viewer-request trigger -> edge-functions output -> function -> zip."""
    config, all_behaviours = behaviours(templates["distribution"])
    edge = templates["edge-functions"]
    outputs = edge["Outputs"]
    zips = []
    for behaviour in all_behaviours:
        assocs = behaviour.get("LambdaFunctionAssociations", [])
        if isinstance(assocs, dict):  # Fn::If: the Lambda@Edge branch
            condition, yes, no = assocs["Fn::If"]
            assocs = no if condition == "ViewerFunction" else yes
        for assoc in assocs:
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
    edge["Resources"]["RefreshFunction"]["Properties"]["AutoPublishAliasAllProperties"] = False
    assert len(wildcard_problems(edge)) == 1
    assert len(edge_function_problems(edge)) == 4

    dist = copy.deepcopy(templates["distribution"])
    dist["Resources"]["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False
    dist["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"}})
    dist["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"][0]["ViewerProtocolPolicy"] = "allow-all"
    assert len(public_bucket_problems(dist)) == 2
    assert len(https_problems(dist)) == 1

    auth = copy.deepcopy(templates["auth-endpoints"])
    res = auth["Resources"]
    res["SigninFunction"]["Properties"]["FunctionUrlConfig"]["AuthType"] = "NONE"
    res["RefreshFunction"]["Properties"]["Architectures"] = ["x86_64"]
    del res["SignoutFunction"]["Properties"]["ReservedConcurrentExecutions"]
    res["SignoutInvokedByCloudFront"]["Properties"]["Principal"] = "*"
    del res["RefreshInvokedByCloudFront"]
    res["SigninUrlCalledByCloudFront"]["Properties"]["SourceArn"] = "arn:aws:cloudfront::111122223333:distribution/EOTHER"
    del res["SignoutUrlCalledByCloudFront"]["Properties"]["SourceAccount"]
    del res["SigninInvokedByCloudFront"]["DependsOn"]
    problems = function_url_problems(auth)
    assert len(problems) == 6, problems
    assert len(regional_function_problems(auth)) == 2

    dist = copy.deepcopy(templates["distribution"])
    config = dist["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["CacheBehaviors"][1]["OriginRequestPolicyId"]["Fn::If"][1] = "216adef6-5c7f-47e4-b989-5492eafa07d3"  # AllViewer: Host too
    config["Origins"][3]["Fn::If"][1]["CustomOriginConfig"]["OriginProtocolPolicy"] = "http-only"
    dist["Resources"]["FunctionUrlAccessControl"]["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] = "never"
    assert len(regional_origin_problems(dist)) == 3


# The error codes CloudFront caches even when the answer says no-store (it
# honours no-store on 404, 410, 414 and 501 only): Developer Guide, "How
# CloudFront processes HTTP 4xx and 5xx status codes from your origin".
CACHED_DESPITE_NO_STORE = {400, 403, 405, 500, 502, 503, 504}


def auth_answer_problems(template):
    """No generated answer of an auth path can be cached by CloudFront, and
    the auth behaviours' headers policy overrides none of the answers' own
    (Referrer-Policy: no-referrer keeps code and state out of Referer)."""
    problems = []
    res = template["Resources"]
    config = res["Distribution"]["Properties"]["DistributionConfig"]
    errors = {e["ErrorCode"]: e for e in config.get("CustomErrorResponses", [])}
    for code in sorted(CACHED_DESPITE_NO_STORE):
        entry = errors.get(code, {})
        if entry.get("ErrorCachingMinTTL") != 0:
            problems.append(f"error {code} cached for {entry.get('ErrorCachingMinTTL', 10)} s")
        if "ResponsePagePath" in entry:
            problems.append(f"error {code} answered with {entry['ResponsePagePath']} instead of the endpoint's page")
    for behaviour in cache_behaviours(config):
        where = behaviour["PathPattern"]["Ref"]
        if behaviour["CachePolicyId"] != CACHING_DISABLED:
            problems.append(f"{where}: cached")
        name = own(behaviour["ResponseHeadersPolicyId"])["Ref"]
        headers = res[name]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        for header, setting in headers.items():
            if setting.get("Override") is not False:
                problems.append(f"{where}: {name} overrides the answer's {header}")
        if headers.get("ReferrerPolicy", {}).get("ReferrerPolicy") != "no-referrer":
            problems.append(f"{where}: {name} does not fill in no-referrer")
    return problems


def test_no_auth_answer_is_cached_or_loses_its_headers(templates):
    assert auth_answer_problems(templates["distribution"]) == []
    broken = copy.deepcopy(templates["distribution"])
    config = broken["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["CustomErrorResponses"] = [e for e in config["CustomErrorResponses"] if e["ErrorCode"] != 400]
    config["CacheBehaviors"][0]["ResponseHeadersPolicyId"] = {"Ref": "SecurityHeaders"}
    problems = auth_answer_problems(broken)
    # 400 cached 10 s; the site's policy overrides five headers and sets
    # another Referrer-Policy.
    assert len(problems) == 7, problems


def optional_settings_problems(templates):
    """SES e-mail for the pool and access logs: on only when their
    parameters are set, and the logs never carry cookies (the sessions)."""
    problems = []
    pool = templates["user-pool"]["Resources"]["UserPool"]["Properties"]
    email = pool.get("EmailConfiguration", {}).get("Fn::If")
    if not email or email[0] != "SendsThroughSes":
        problems.append(f"pool e-mail not switched on SendsThroughSes: {email}")
    else:
        ses, default = email[1], email[2]
        if ses != {"EmailSendingAccount": "DEVELOPER", "SourceArn": {"Ref": "EmailSourceArn"}, "From": {"Ref": "EmailFrom"}}:
            problems.append(f"SES e-mail {ses}")
        if default != {"EmailSendingAccount": "COGNITO_DEFAULT"}:
            problems.append(f"default e-mail {default}")
    config = templates["distribution"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    logging = config.get("Logging", {}).get("Fn::If")
    if not logging or logging[0] != "HasLogging" or logging[2] != {"Ref": "AWS::NoValue"}:
        problems.append(f"logging not switched on HasLogging: {logging}")
    elif logging[1].get("IncludeCookies") is not False:
        problems.append("access logs include cookies, which carry the sessions")
    return problems


def test_pool_email_and_access_logs_are_off_unless_set(templates):
    assert optional_settings_problems(templates) == []
    broken = copy.deepcopy(templates)
    broken["user-pool"]["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]["Fn::If"][1]["EmailSendingAccount"] = "COGNITO_DEFAULT"
    config = broken["distribution"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["Logging"]["Fn::If"][1]["IncludeCookies"] = True
    assert len(optional_settings_problems(broken)) == 2
