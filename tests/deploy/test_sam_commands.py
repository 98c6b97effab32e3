"""Every `sam deploy` command line the deploy tool builds, handed to the real
SAM CLI's option parser (tests/deploy/sam_cli.py), for the example settings
with and without a custom domain, in the three arrangements (the default
CloudFront Function with regional auth endpoints, Lambda@Edge authorize
with regional endpoints, Lambda@Edge throughout), on a
first deploy (`--dry-run --offline`) and on a re-run (`--dry-run` against
moto_server on 127.0.0.1 holding the stacks a first deploy left).

What the dry run prints is what the run executes: both come from
`Step::command` (crates/deploy/src/plan.rs); tests/deploy/test_deploy_run.py
holds the two equal on a real run.
"""

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode

from sam_cli import Refused, parse_deploy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"domain": ROOT / "deploy/prod.toml", "no-domain": ROOT / "deploy/preview.toml"}


def deploy_tool():
    """The edge-auth-deploy binary as `cargo test --workspace` builds it
    (scripts/test.sh has just run that, so this builds nothing; a
    `cargo build -p edge-auth-deploy` would resolve features differently and
    compile several crates again)."""
    import json

    out = subprocess.run(
        ["cargo", "test", "--workspace", "--locked", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        target = message.get("target", {})
        # The program itself, not the test harness cargo also builds of it.
        if (message.get("reason") == "compiler-artifact" and target.get("name") == "edge-auth-deploy"
                and "bin" in target.get("kind", []) and not message.get("profile", {}).get("test")
                and message.get("executable")):
            return Path(message["executable"])
    raise AssertionError("cargo built no edge-auth-deploy binary")


@pytest.fixture(scope="module")
def tool():
    return deploy_tool()


def settings_file(tmp_path, example, arrangement):
    """The example settings (the default authorizer, a CloudFront
    Function), or the same with Lambda@Edge authorize, or with everything
    at the edge."""
    text = EXAMPLES[example].read_text()
    if arrangement == "lambda-edge":
        text = 'authorizer = "lambda-edge"\n' + text
    if arrangement == "edge":
        text = 'authorizer = "lambda-edge"\nauth_endpoints = "edge"\n' + text
    path = tmp_path / f"{example}-{arrangement}.toml"
    path.write_text(text)
    return path


def commands(output):
    """The command lines a dry run printed (`$ ` lines with their
    continuations), as the words a shell would pass."""
    found, current = [], None
    for line in output.splitlines():
        if current is None and line.lstrip().startswith("$ "):
            current = line.lstrip()[2:]
        elif current is not None:
            current += "\n" + line
        if current is not None and not current.endswith("\\"):
            found.append(shlex.split(current.replace("\\\n", " ")))
            current = None
    assert current is None, "a command line ends in a continuation"
    return found


def dry_run(tool, settings, work, env=None, offline=True):
    args = [str(tool), "--settings", str(settings), "--dry-run", "--work", str(work)]
    if offline:
        args.append("--offline")
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def declared(template):
    parsed, matches = decode(str(template))
    assert not matches, matches
    return parsed.get("Parameters", {})


def refusal(parameter, value):
    """Why CloudFormation would refuse `value` (an independent reading of
    the template's constraints, beside the tool's own in Rust)."""
    items = value.split(",") if parameter.get("Type") == "CommaDelimitedList" else [value]
    for item in items:
        if "AllowedValues" in parameter and item not in parameter["AllowedValues"]:
            return f"{item!r} not in {parameter['AllowedValues']}"
        if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], item):
            return f"{item!r} does not match {parameter['AllowedPattern']}"
        if parameter.get("Type") == "Number":
            n = int(item)
            if n < int(parameter.get("MinValue", n)) or n > int(parameter.get("MaxValue", n)):
                return f"{n} out of range"
    return None


def check_commands(found, work, environment, expect_placeholders):
    """Each command passes SAM's parser and passes every parameter its
    template declares, nothing else, each value one the template accepts."""
    staged = work / environment / "sam"
    if not staged.exists():
        shutil.copytree(ROOT / "sam", staged)  # as the run stages them
    assert found, "no command lines printed"
    placeholders = 0
    for argv in found:
        params = parse_deploy(argv)
        template = Path(params["template_file"])
        assert template.is_file(), template
        parameters = declared(template)
        overrides = params["parameter_overrides"]
        assert set(overrides) == set(parameters), (template, set(parameters) ^ set(overrides))
        for name, value in overrides.items():
            if "<" in value:  # an output of a stack this run deploys first
                placeholders += 1
                continue
            why = refusal(parameters[name], value)
            assert why is None, f"{template}: {name}: {why}"
        assert params["tags"]["project"] == "edge-auth"
        assert params["tags"]["environment"] == environment
        assert params["stack_name"].startswith(f"edge-auth-{environment}-")
        assert params["capabilities"] == ("CAPABILITY_IAM",)
        assert params["confirm_changeset"] is False
    assert (placeholders > 0) == expect_placeholders
    return found


ARRANGEMENTS = [(e, a) for e in EXAMPLES for a in ("function", "lambda-edge", "edge")]


@pytest.mark.parametrize("example,arrangement", ARRANGEMENTS)
def test_first_deploy_commands_pass_sams_parser(tool, tmp_path, example, arrangement):
    settings = settings_file(tmp_path, example, arrangement)
    out = dry_run(tool, settings, tmp_path / "work")
    found = check_commands(commands(out), tmp_path / "work", "prod" if example == "domain" else "preview", True)
    names = [parse_deploy(a)["stack_name"] for a in found]
    auth = [n for n in names if n.endswith("-auth-endpoints")]
    assert len(auth) == (0 if arrangement == "edge" else 2), names
    edge = [n for n in names if n.endswith("-edge-functions")]
    assert len(edge) == (0 if arrangement == "function" else 1), names
    # A first deploy: the auth endpoints are created with no distribution
    # (empty, quoted as SAM takes it) and deployed again with its ARN.
    if auth:
        first, second = [parse_deploy(a)["parameter_overrides"] for a in found if a[a.index("--stack-name") + 1] in auth]
        assert first["DistributionArn"] == ""
        assert second["DistributionArn"] == "<edge-auth-%s-distribution.DistributionArn>" % names[0].split("-")[2]
    dist = [parse_deploy(a)["parameter_overrides"] for a in found if a[a.index("--stack-name") + 1].endswith("-distribution")]
    assert len(dist) == 1
    assert dist[0]["Authorizer"] == ("cloudfront-function" if arrangement == "function" else "lambda-edge")
    if arrangement == "function":
        assert dist[0]["AuthorizeVersionArn"] == dist[0]["IndexPathVersionArn"] == ""
    if example == "no-domain":
        # Passed, empty: nothing keeps a domain an earlier deploy had.
        assert dist[0]["DomainName"] == dist[0]["CertificateArn"] == dist[0]["HostedZoneId"] == ""
    else:
        assert dist[0]["DomainName"] == "docs.example.com"


def test_a_three_site_tables_commands_pass_sams_parser(tool, tmp_path):
    """examples/sites/sites.toml: every `sam deploy` line through SAM's
    parser, each parameter one its template declares and accepts; a
    distribution and a grants stack per site, each naming its site, and
    one of each shared stack."""
    out = dry_run(tool, ROOT / "examples/sites/sites.toml", tmp_path / "work")
    found = check_commands(commands(out), tmp_path / "work", "sites", True)
    by_stack = {}
    for argv in found:
        parsed = parse_deploy(argv)
        by_stack.setdefault(parsed["stack_name"], []).append(parsed["parameter_overrides"])
    hosts = {"handbook": "handbook.docs.example.com", "api": "api.docs.example.com", "status": "status.example.com"}
    for site in ("handbook", "api", "status"):
        (dist,) = by_stack[f"edge-auth-sites-site-{site}"]
        assert dist["SiteName"] == site and dist["DomainName"] == hosts[site]
        (grants,) = by_stack[f"edge-auth-sites-grants-{site}"]
        assert grants["SiteName"] == site
        assert grants["DistributionArn"] == f"<edge-auth-sites-site-{site}.DistributionArn>"
        assert dist["Part"] == "site"
        assert dist["SecurityHeadersPolicyId"] == "<edge-auth-sites-sites-policies.SecurityHeadersPolicyId>"
    # The API reference's previews: a wildcard host, answering as the site.
    (previews,) = by_stack["edge-auth-sites-site-api-preview"]
    assert (previews["DomainName"], previews["SiteName"], previews["Part"]) == ("*.preview.docs.example.com", "api", "site")
    (grants,) = by_stack["edge-auth-sites-grants-api-preview"]
    assert grants["DistributionArn"] == "<edge-auth-sites-site-api-preview.DistributionArn>"
    (policies,) = by_stack["edge-auth-sites-sites-policies"]
    assert policies["Part"] == "policies"
    (auth,) = by_stack["edge-auth-sites-auth-endpoints"]
    assert auth["Grants"] == "per-site" and auth["DistributionArn"] == ""
    assert len(by_stack["edge-auth-sites-viewer-function"]) == 1
    assert not any(name.endswith("-distribution") for name in by_stack)
    # The API reference signs in through the handbook (its group's sign-in
    # site): the pool knows the callbacks of the sites that sign in.
    pool = by_stack["edge-auth-sites-user-pool"][0]
    assert pool["CallbackUrls"].split(",") == [f"https://{hosts[s]}/_edge-auth/callback" for s in ("handbook", "status")]
    assert pool["LogoutUrls"].split(",") == [f"https://{hosts[s]}/signed-out.html" for s in ("handbook", "api", "status")]


def test_sam_refuses_what_the_tool_used_to_send(tmp_path):
    """The parser is SAM's own: the unquoted empty value of the tool's first
    version is refused with SAM's message, the quoted one is taken."""
    template = str(ROOT / "sam/auth-endpoints/template.yaml")
    base = ["sam", "deploy", "--template-file", template, "--stack-name", "s", "--region", "eu-north-1"]
    with pytest.raises(Refused, match="DistributionArn= is not a valid format"):
        parse_deploy(base + ["--parameter-overrides", "DistributionArn="])
    assert parse_deploy(base + ["--parameter-overrides", 'DistributionArn=""'])["parameter_overrides"] == {
        "DistributionArn": ""
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto():
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("moto_server") or str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.2)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    env.pop("AWS_PROFILE", None)
    yield url, env
    server.terminate()
    server.wait(timeout=10)


# What a first deploy leaves, as the stacks' outputs (the names the
# templates declare; crates/deploy/tests/wiring.rs holds the tool to them).
DISTRIBUTION_ID = "E2EXAMPLE0DIST"
EXISTING = {
    "distribution": {
        "SiteUrl": "https://d111111abcdef8.cloudfront.net",
        "DistributionArn": f"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION_ID}",
        "DistributionId": DISTRIBUTION_ID,
        "BucketName": "edge-auth-site-bucket-for-tests",
    },
}


def client(service, region, url):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def leave_stack(url, region, name, outputs):
    """A stack as an earlier run left it: its outputs, one harmless resource."""
    import json

    cfn = client("cloudformation", region, url)
    template = {
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.mark.parametrize("example,arrangement", ARRANGEMENTS)
def test_rerun_commands_pass_sams_parser(tool, tmp_path, moto, example, arrangement):
    url, env = moto
    settings = settings_file(tmp_path, example, arrangement)
    environment = "prod" if example == "domain" else "preview"
    import tomllib

    region = tomllib.loads(settings.read_text())["regions"]["distribution"]
    # One moto serves every case: each case's stacks get their own names.
    text = settings.read_text().replace(f'environment = "{environment}"', f'environment = "{environment}{arrangement[0]}"')
    settings.write_text(text)
    environment = f"{environment}{arrangement[0]}"
    name = f"edge-auth-{environment}-distribution"
    outputs = dict(EXISTING["distribution"], BucketName=f"site-{environment}")
    leave_stack(url, region, name, outputs)
    client("s3", region, url).create_bucket(
        Bucket=f"site-{environment}", CreateBucketConfiguration={"LocationConstraint": region}
    )
    out = dry_run(tool, settings, tmp_path / "work", env=env, offline=False)
    assert f"{name}: exists, will be updated" in out, out
    found = check_commands(commands(out), tmp_path / "work", environment, True)
    auth = [parse_deploy(a)["parameter_overrides"] for a in found if a[a.index("--stack-name") + 1].endswith("-auth-endpoints")]
    if arrangement != "edge":
        # A re-run gives the auth endpoints the existing distribution from
        # the start: both deployments carry the same ARN and site URL.
        assert [p["DistributionArn"] for p in auth] == [outputs["DistributionArn"], "<%s.DistributionArn>" % name]
        if example == "no-domain":
            assert auth[0]["SiteUrl"] == outputs["SiteUrl"]
    pools = [parse_deploy(a)["parameter_overrides"] for a in found if a[a.index("--stack-name") + 1].endswith("-user-pool")]
    if example == "no-domain":
        # Never the placeholder on a re-run.
        assert pools[0]["CallbackUrls"] == outputs["SiteUrl"] + "/_edge-auth/callback"
