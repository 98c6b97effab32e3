"""The deploy tool's real run (not the dry run), end to end against moto on
127.0.0.1, with the `sam` stand-in (tests/deploy/sam-standin/sam) first on
PATH: every command line goes through aws-sam-cli's parser, the templates
through aws-sam-translator, the stacks into moto's CloudFormation as far as
moto models their resource types (the stand-in says which it skips).

The provider is an OpenID provider on 127.0.0.1 (the settings' `oidc`
kind): Cognito's discovery URL, a stack output, names AWS's own host, which
a test must never call. The user-pool template goes through the stand-in on
its own (below), from the dry run's command line.

Held here: what the run prints before each command is what it executes
(the stand-in logs its argv); the dry run printed the same commands, with
each `<stack.Output>` the output the run then found; the stacks carry the
parameters the plan gave them (the auth endpoints end up granted to the
distribution); a re-run executes the same commands again and skips the
unchanged second auth-endpoints deployment; the site is in the bucket.

The default arrangement has no Lambda@Edge: the distribution template the
tool deploys carries the CloudFront Function the core renders from the
deployed config.json, and the tool writes the session verify keys into the
key value store. moto has no key value store data plane, and AWS's is not
reachable from here: `key_value_store` below stands in for it on 127.0.0.1
(DescribeKeyValueStore, ListKeys, UpdateKeys with If-Match, the store's
limits), and requires the SigV4A signature the real one requires.
"""

import base64
import http.server
import json
import textwrap
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest

import cloudfront_functions as functions_standin
from test_sam_commands import client, commands, deploy_tool, moto  # noqa: F401  (moto is a fixture)

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).resolve().parent / "sam-standin"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def provider():
    """An OpenID provider's discovery document and key set on 127.0.0.1."""
    jwks = json.loads((ROOT / "crates/testkit/keys/jwks.json").read_text())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            documents = {
                "/.well-known/openid-configuration": {
                    "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                    "jwks_uri": f"{base}/jwks.json", "end_session_endpoint": f"{base}/logout",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
                "/jwks.json": jwks,
            }
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def key_value_store():
    """A stand-in for the CloudFront KeyValueStore data plane (restJson, as
    the SDK speaks it) on 127.0.0.1: stores by ARN, created on first use."""
    stores, signatures = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, body, etag=None, error=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            if etag:
                self.send_header("ETag", etag)
            if error:
                self.send_header("x-amzn-errortype", error)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def store(self):
            signatures.append(self.headers.get("authorization", "").split(" ")[0])
            path = urllib.parse.urlsplit(self.path).path
            match = re.fullmatch(r"/key-value-stores/([^/]+)(/keys)?", path)
            arn = urllib.parse.unquote(match.group(1)) if match else ""
            if not re.fullmatch(r"arn:aws:cloudfront::\d{12}:key-value-store/[0-9a-f-]{36}", arn):
                self.answer(404, {"message": f"no store {arn}"}, error="ResourceNotFoundException")
                return None, None
            store = stores.setdefault(arn, {"items": {}, "version": 1})
            return store, bool(match.group(2))

        def summary(self, store):
            size = sum(len(k) + len(v) for k, v in store["items"].items())
            return {"ItemCount": len(store["items"]), "TotalSizeInBytes": size}

        def do_GET(self):
            store, keys = self.store()
            if store is None:
                return
            etag = f"E{store['version']}"
            if keys:
                items = [{"Key": k, "Value": v} for k, v in sorted(store["items"].items())]
                self.answer(200, {"Items": items})
            else:
                self.answer(200, dict(self.summary(store), KvsARN="x", Created=1764633600, Status="READY"), etag=etag)

        def do_POST(self):
            store, keys = self.store()
            if store is None:
                return
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            if store.get("writers", 0) > 0:
                # Another writer (a test sets how many) got in between this
                # writer's read and its write.
                store["writers"] -= 1
                store["items"] = dict(store["items"], **{"other:writer": str(store["version"])})
                store["version"] += 1
            if self.headers.get("if-match") != f"E{store['version']}":
                self.answer(409, {"message": "the store changed"}, error="ConflictException")
                return
            items = dict(store["items"])
            for put in body.get("Puts", []):
                if len(put["Key"].encode()) > 512 or len(put["Value"].encode()) > 1024:
                    self.answer(400, {"message": "key or value too long"}, error="ValidationException")
                    return
                items[put["Key"]] = put["Value"]
            for delete in body.get("Deletes", []):
                items.pop(delete["Key"], None)
            store["items"], store["version"] = items, store["version"] + 1
            self.answer(200, self.summary(store), etag=f"E{store['version']}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", stores, signatures
    server.shutdown()


@pytest.fixture(scope="module")
def cloudfront_functions(moto, key_value_store):
    """CloudFront's functions API with stages and TestFunction (njs), in
    front of moto (tests/deploy/cloudfront_functions.py): its URL for
    AWS_ENDPOINT_URL_CLOUDFRONT, and its state."""
    url, _ = moto
    _, stores, _ = key_value_store
    standin, functions, server = functions_standin.serve(url, lambda arn: stores.get(arn, {}).get("items", {}))
    yield standin, functions
    server.shutdown()


def render_function(config_json):
    """The core's CloudFront Function for a config.json (the example the
    bench uses too)."""
    return subprocess.run(
        ["cargo", "run", "-q", "--locked", "-p", "edge-auth-core", "--example", "render-cloudfront-function", "--", str(config_json)],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=600,
    ).stdout


def settings_for(tmp_path, provider, secret_arn, environment):
    path = tmp_path / f"{environment}.toml"
    path.write_text(f"""
application = "edge-auth"
environment = "{environment}"
[regions]
user_pool = "{REGION}"
distribution = "{REGION}"
[site]
directory = "{ROOT / 'site'}"
[provider]
kind = "oidc"
discovery_url = "{provider}/.well-known/openid-configuration"
client_id = "moto-client"
client_secret_arn = "{secret_arn}"
""")
    return path


def run_tool(tool, settings, work, env, *extra, check=False):
    """A deploy (or `--dry-run`); without `check`, `--no-check`: the live
    site's address is moto's and no test may send it a request."""
    own = [] if check else ["--no-check"]
    run = subprocess.run(
        [str(tool), "--settings", str(settings), "--work", str(work), "--packages", str(ROOT / "dist"), *own, *extra],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    return run


def outputs_of(url, stacks):
    cfn = client("cloudformation", REGION, url)
    found = {}
    for stack in stacks:
        for region in (REGION, "us-east-1"):
            try:
                described = client("cloudformation", region, url).describe_stacks(StackName=stack)["Stacks"][0]
            except cfn.exceptions.ClientError:
                continue
            found[stack] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return found


def filled_in(argv, outputs):
    """A dry run's command with each `<stack.Output>` the run's value."""
    def value(match):
        stack, key = match.group(1), match.group(2)
        return outputs[stack][key]
    return [re.sub(r"<([a-z0-9-]+)\.([A-Za-z]+)>", value, word) for word in argv]


def deployment(tmp_path, url, env, provider, environment, extra_settings="", **extra_env):
    """An OIDC client secret in moto, settings for `environment`, and the
    environment that puts the `sam` stand-in first on PATH: (settings, sam
    command log, env)."""
    secret = client("secretsmanager", REGION, url).create_secret(
        Name=f"edge-auth/{environment}/oidc-client", SecretString='{"client_id":"moto-client","client_secret":"s3cret"}')["ARN"]
    settings = settings_for(tmp_path, provider, secret, environment)
    settings.write_text(extra_settings + settings.read_text())
    log = tmp_path / "sam-commands.jsonl"
    env = dict(env, PATH=f"{STANDIN}{os.pathsep}{env['PATH']}", EDGE_AUTH_SAM_LOG=str(log),
               EDGE_AUTH_SAM_STATE=str(tmp_path / "standin-state"), **extra_env)
    return settings, log, env


def status(tool, settings, env):
    """`edge-auth-deploy status --json`, parsed."""
    run = subprocess.run([str(tool), "status", "--settings", str(settings), "--json"], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def logged(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_run_executes_what_the_dry_run_prints_against_moto(tmp_path, moto, provider, key_value_store, cloudfront_functions):
    assert (ROOT / "dist/authorize.zip").exists() and (ROOT / "dist/regional/signin.zip").exists(), (
        "run scripts/package.py and scripts/package.py --regional first")
    url, env = moto
    kvs_url, stores, signatures = key_value_store
    tool = deploy_tool()
    functions_url, functions = cloudfront_functions
    settings, log, env = deployment(tmp_path, url, env, provider, "moto", EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT=kvs_url,
                                    AWS_ENDPOINT_URL_CLOUDFRONT=functions_url)
    work = tmp_path / "work"

    dry = run_tool(tool, settings, work, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = commands(dry.stdout)
    # The default: no edge functions; the viewer function, auth endpoints
    # twice, distribution.
    assert len(planned) == 4, dry.stdout
    assert "write the session verify keys into the key value store <edge-auth-moto-viewer-function.KeyValueStoreArn>" in dry.stdout
    assert "test the staged function <edge-auth-moto-viewer-function.FunctionName> in CloudFront's own runtime" in dry.stdout
    assert "key value store: the run writes key:<the new key's id> (the set is created by the run), revoked:edge-auth-probe:revoked; it holds no store yet (first deploy)" in dry.stdout

    first = run_tool(tool, settings, work, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    executed = logged(log)
    # What the run printed before each command is what it executed.
    assert commands(first.stdout) == executed
    # It ends with what each step changed: every stack created, the site
    # uploaded, the store written.
    summary = first.stdout[first.stdout.index("\nstep "):]
    for row in [r"stack edge-auth-moto-viewer-function +\S+ +created \(CREATE_COMPLETE\)",
                r"function tested by CloudFront +\S+ +(\d+) of \1 test requests answered as the core does",
                r"function published +\S+ +\d+ bytes published",
                r"stack edge-auth-moto-auth-endpoints +\S+ +created \(CREATE_COMPLETE\)",
                r"stack edge-auth-moto-distribution +\S+ +created \(CREATE_COMPLETE\)",
                r"key value store +\S+ +1 put, 0 deleted",
                r"site sync +\S+ +\d+ uploaded, 0 deleted, 0 unchanged",
                r"\ntotal +\S+\n"]:
        assert re.search(row, summary), summary
    stacks = {a[a.index("--stack-name") + 1] for a in executed}
    outputs = outputs_of(url, stacks)
    # The dry run showed the same commands, outputs filled in.
    assert [filled_in(a, outputs) for a in planned] == executed
    # The stand-in says what it stood in for (kept in the test's output).
    skipped = sorted(set(re.findall(r"moto's CloudFormation skips (.*): stood in for", first.stdout)))
    assert skipped, first.stdout
    print("\n".join(f"stood in for: {line}" for line in skipped))

    # The auth endpoints were granted to the distribution and told its URL.
    auth = client("cloudformation", REGION, url).describe_stacks(StackName="edge-auth-moto-auth-endpoints")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in auth["Parameters"]}
    distribution = outputs["edge-auth-moto-distribution"]
    assert parameters["DistributionArn"] == distribution["DistributionArn"]
    assert parameters["SiteUrl"] == distribution["SiteUrl"]
    # ... and told the store sign-out ends sessions in: the function's.
    assert parameters["KeyValueStoreArn"] == outputs["edge-auth-moto-viewer-function"]["KeyValueStoreArn"]
    # The site is in the bucket, and the run announced the site.
    keys = {o["Key"] for o in client("s3", REGION, url).list_objects_v2(Bucket=distribution["BucketName"]).get("Contents", [])}
    assert "index.html" in keys
    assert f"done: {distribution['SiteUrl']}" in first.stdout

    # No stack in us-east-1: nothing of Lambda@Edge was deployed.
    assert not any(a[a.index("--region") + 1] == "us-east-1" for a in executed), executed
    assert "none: nothing to retire" in first.stdout
    # The function CloudFormation was given (read back through SAM's YAML
    # parser by the stand-in) is the core's rendering of the config.json the
    # regional functions were deployed with.
    with zipfile.ZipFile(work / "moto" / "dist" / "configured/regional/signin.zip") as z:
        (tmp_path / "config.json").write_bytes(z.read("config.json"))
        deployed_config = json.loads(z.read("config.json"))
    deployed_function = (tmp_path / "standin-state" / "edge-auth-moto-viewer-function.ViewerRequestFunction.js").read_text()
    assert deployed_function == render_function(tmp_path / "config.json")
    assert deployed_function.startswith("import cf from 'cloudfront';") and len(deployed_function.encode()) <= 10240
    # CloudFront's runtime ran every test request on the staged code before
    # it was published, and the distribution took the published function.
    function_name = outputs["edge-auth-moto-viewer-function"]["FunctionName"]
    assert function_name == "edge-auth-moto-viewer"
    staged = functions.functions[function_name]["stages"]
    assert staged["LIVE"]["code"].decode() == deployed_function == staged["DEVELOPMENT"]["code"].decode()
    tests_run = functions.calls.count("TestFunction:DEVELOPMENT")
    assert tests_run >= 9 and functions.calls.index("PublishFunction") > functions.calls.index("TestFunction:DEVELOPMENT")
    assert f"{tests_run} of {tests_run} test requests answered as the core does" in first.stdout
    dist_stack = client("cloudformation", REGION, url).describe_stacks(StackName="edge-auth-moto-distribution")["Stacks"][0]
    dist_parameters = {p["ParameterKey"]: p["ParameterValue"] for p in dist_stack["Parameters"]}
    assert dist_parameters["ViewerFunctionArn"] == outputs["edge-auth-moto-viewer-function"]["FunctionArn"]
    assert dist_parameters["ViewerFunctionArn"].endswith(":function/edge-auth-moto-viewer")
    # `status` reads it all back: the stacks with the commit the deploy
    # tagged them with, the live function (what the settings render), the
    # store, the keys; nothing out of step, and no key's value anywhere.
    report = status(tool, settings, env)
    print(json.dumps(report, indent=1))
    assert report["out_of_step"] == [], report["out_of_step"]
    assert [s["stack"] for s in report["stacks"]] == [
        "edge-auth-moto-viewer-function", "edge-auth-moto-auth-endpoints", "edge-auth-moto-distribution"]
    assert all(s["status"] == "UPDATE_COMPLETE" or s["status"] == "CREATE_COMPLETE" for s in report["stacks"])
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    assert report["last_deploy"]["commit"] == commit and report["last_deploy"]["version"] == "0.1.0"
    assert report["function"]["in_step"] is True and report["function"]["bytes"] == len(deployed_function.encode())
    assert report["key_value_store"]["session_keys"] == [json.loads(
        client("secretsmanager", REGION, url).get_secret_value(SecretId="edge-auth/moto/session-keys")["SecretString"])["signing_kid"]]
    assert report["site"] == outputs["edge-auth-moto-distribution"]["SiteUrl"]
    key_material = json.loads(client("secretsmanager", REGION, url).get_secret_value(
        SecretId="edge-auth/moto/session-keys")["SecretString"])["keys"][0]["key"]
    text_report = subprocess.run([str(tool), "status", "--settings", str(settings)], cwd=ROOT,
                                 capture_output=True, text=True, env=env, timeout=300)
    assert text_report.returncode == 0 and "in step:" in text_report.stdout, text_report.stdout + text_report.stderr
    assert key_material not in text_report.stdout + json.dumps(report)
    # A function that is not what the settings render is out of step.
    cloudfront = client("cloudfront", "us-east-1", functions_url)
    name = report["function"]["name"]
    def put_live(code):
        described = cloudfront.describe_function(Name=name, Stage="DEVELOPMENT")
        config = described["FunctionSummary"]["FunctionConfig"]
        made = cloudfront.update_function(Name=name, IfMatch=described["ETag"], FunctionCode=code.encode(),
                                          FunctionConfig={k: config[k] for k in ("Comment", "Runtime", "KeyValueStoreAssociations")})
        cloudfront.publish_function(Name=name, IfMatch=made["ETag"])
    put_live(deployed_function + "// changed by hand\n")
    drifted = status(tool, settings, env)
    assert drifted["function"]["in_step"] is False
    assert any("differs from what these settings render" in line for line in drifted["out_of_step"]), drifted
    put_live(deployed_function)
    store_arn = outputs["edge-auth-moto-viewer-function"]["KeyValueStoreArn"]
    # The store holds each session key under key:<kid>, written with SigV4A,
    # and the test requests' revoked user.
    def store_items():
        return stores[store_arn]["items"]
    def key_entries():
        return {k: v for k, v in store_items().items() if k.startswith("key:")}
    secrets = client("secretsmanager", REGION, url)
    def key_set():
        return json.loads(secrets.get_secret_value(SecretId="edge-auth/moto/session-keys")["SecretString"])
    def store_keys(kset):
        # A retiring key's entry carries its deadline: "<key>.<not_after>".
        return {f"key:{k['kid']}": k["key"] + (f".{kset['retire_after'][k['kid']]}" if k["kid"] in kset.get("retire_after", {}) else "")
                for k in kset["keys"]}
    material = key_set()["keys"][0]["key"]
    assert key_entries() == store_keys(key_set())
    assert store_items()["revoked:edge-auth-probe:revoked"] == "4102444800"
    assert set(store_items()) == set(key_entries()) | {"revoked:edge-auth-probe:revoked"}
    assert signatures and set(signatures) == {"AWS4-ECDSA-P256-SHA256"}, set(signatures)
    key_names = sorted(key_entries())
    assert f"put {', '.join(key_names)}; deleted none" in first.stdout
    assert material not in first.stdout, "a key value printed"
    # No session key material in anything SAM uploads (security review,
    # item 2): every configured package names key ids only.
    def packages_with(secret):
        return [str(p.relative_to(work)) for p in (work / "moto" / "dist").rglob("*.zip")
                if any(secret.encode() in zipfile.ZipFile(p).read(n) for n in zipfile.ZipFile(p).namelist())]
    assert packages_with(material) == [], "session key material in a package"
    assert deployed_config["session"]["kids"] == [key_set()["keys"][0]["kid"]]
    assert "keys" not in deployed_config["session"]

    # A re-run: the same stacks, the second auth-endpoints deployment skipped
    # (its parameters are known from the start), and again what it prints
    # is what it runs and what the dry run showed.
    log.unlink()
    dry = run_tool(tool, settings, work, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "edge-auth-moto-distribution: exists, will be updated" in dry.stdout
    # The store's entries by name, what the run writes and what is there.
    names = ", ".join(key_names + ["revoked:edge-auth-probe:revoked"])
    assert f"key value store: the run writes {names}; it holds {names} (names only" in dry.stdout, dry.stdout
    assert material not in dry.stdout
    second = run_tool(tool, settings, work, env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    executed = logged(log)
    assert commands(second.stdout) == executed
    assert len(executed) == 3, [a[a.index("--stack-name") + 1] for a in executed]
    assert "same parameters as its deployment earlier in this run" in second.stdout
    outputs = outputs_of(url, stacks)
    rerun_planned = [filled_in(a, outputs) for a in commands(dry.stdout)]
    # The dry run lists the second auth-endpoints deployment; the run skips it.
    assert rerun_planned[:3] == executed and rerun_planned[3] == rerun_planned[1]
    # The store already holds the keys: nothing is written again; the
    # function was tested again, and LIVE already runs it.
    assert "put none; deleted none" in second.stdout
    assert "LIVE already runs the tested code" in second.stdout, second.stdout

    # CloudFront's runtime answers otherwise than the core (here: the keys
    # it reads have not reached it): the deploy stops before publishing,
    # says why, and the site keeps the function it ran; `status` shows the
    # staged change. A rule added to the settings changes the function.
    calls_before = len(functions.calls)
    functions.hide_keys = True
    plain = settings.read_text()
    settings.write_text(plain + '[[rules]]\npattern = "/admin/*"\ngroups = ["admins"]\n')
    try:
        refused = run_tool(tool, settings, work, env)
        held = status(tool, settings, env)
    finally:
        functions.hide_keys = False
        settings.write_text(plain)
    assert refused.returncode == 1, refused.stdout[-3000:] + refused.stderr[-3000:]
    assert "otherwise than the core does: nothing was published, the site runs the function it ran before" in refused.stderr, refused.stderr
    assert "refused: a session signed with" in refused.stdout, refused.stdout
    assert "PublishFunction" not in functions.calls[calls_before:]
    assert "deploy stack edge-auth-moto-distribution" not in refused.stdout[refused.stdout.index("test the staged function"):]
    assert staged["LIVE"]["code"].decode() == deployed_function != staged["DEVELOPMENT"]["code"].decode()
    assert any("DEVELOPMENT stage holds code LIVE does not run" in line for line in held["out_of_step"]), held

    # A session-key rotation against the same deployment: the dry run shows
    # the three phases and key ids, never a key; the run adds the key,
    # deploys every package with both keys, then makes the new one sign.
    before = key_set()
    assert len(before["keys"]) == 1 and before["signing_kid"] == before["keys"][0]["kid"]
    rotate = lambda *extra: subprocess.run(
        [str(tool), "rotate-session-key", "--settings", str(settings), "--work", str(work),
         "--packages", str(ROOT / "dist"), *extra],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    dry = rotate("--dry-run")
    assert dry.returncode == 0, dry.stderr
    print(dry.stdout)
    assert f"keys now: {before['signing_kid']} (signing)" in dry.stdout
    for phase in ("1. add a new key", "2. make", "3. retire"):
        assert phase in dry.stdout, dry.stdout
    assert before["keys"][0]["key"] not in dry.stdout, "a key in the dry run"
    assert key_set() == before, "the dry run changed nothing"
    log.unlink()
    rotated = rotate()
    assert rotated.returncode == 0, rotated.stdout[-3000:] + rotated.stderr[-3000:]
    # The new key verified in CloudFront's runtime before it signs.
    assert "CloudFront's runtime verified a session signed with" in rotated.stdout, rotated.stdout
    assert staged["LIVE"]["code"] == staged["DEVELOPMENT"]["code"], "the rotation's deploy published the tested function"
    after = key_set()
    kids = [k["kid"] for k in after["keys"]]
    assert kids[0] == before["signing_kid"] and len(kids) == 2, kids
    assert after["signing_kid"] == kids[1], "the new key signs"
    assert list(after["retire_after"]) == [before["signing_kid"]], "the old key retires later"
    # Every verifier got both keys before the new one signed.
    assert logged(log), "the rotation deployed the stacks"
    for package in ("configured/regional/signin.zip", "configured/regional/refresh.zip"):
        with zipfile.ZipFile(work / "moto" / "dist" / package) as z:
            config = json.loads(z.read("config.json"))
        assert config["session"]["kids"] == kids and "keys" not in config["session"], package
        assert config["session"]["signing_keys"]["secret_id"] == "edge-auth/moto/session-keys"
    # ... and so does the function's store, before the new key signs.
    # The retiring key's entry carries its deadline from the rotation on:
    # the function verifies nothing with it that expires later.
    assert key_entries() == store_keys(after)
    assert store_items()[f"key:{before['signing_kid']}"].endswith(f".{after['retire_after'][before['signing_kid']]}")
    assert packages_with(after["keys"][1]["key"]) == []

    # `revoke --user`: the dry run writes nothing; the run puts
    # revoked:<sub> with the time, which the function compares with a
    # session's iat; a deploy leaves it; an unknown option is refused.
    revoke = lambda *extra: subprocess.run(
        [str(tool), "revoke", "--settings", str(settings), *extra],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    before = dict(store_items())
    before_set = key_set()
    dry = revoke("--user", "user-7", "--dry-run")
    assert dry.returncode == 0 and "put revoked:user-7" in dry.stdout, dry.stdout + dry.stderr
    assert "and the same in the session key set edge-auth/moto/session-keys" in dry.stdout, dry.stdout
    assert key_set() == before_set
    assert store_items() == before
    started = int(time.time())
    # A revocation older than any session it could refuse, and a recent one.
    store_items()["revoked:gone"] = str(started - 3 * 86400)
    store_items()["revoked:recent"] = str(started - 60)
    # Another writer changes the store between the revoke's read and its
    # write: the revoke reads it again and writes, keeping the other's entry.
    stores[store_arn]["writers"] = 1
    done = revoke("--user", "user-7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "changed since it was read (another writer): reading it again" in done.stdout, done.stdout
    assert "other:writer" in store_items()
    assert "put revoked:user-7; deleted revoked:gone;" in done.stdout, done.stdout
    assert "revoked:recent" in store_items() and "revoked:gone" not in store_items()
    # The cut-off is AWS's time (the store's Date, whole seconds) plus the
    # verifiers' 30 s skew, not this machine's clock.
    assert started - 1 + 30 <= int(store_items()["revoked:user-7"]) <= int(time.time()) + 30
    assert "(AWS's clock, plus the 30 s skew)" in done.stdout, done.stdout
    # The same cut-off in the session key set the signers read, so that
    # refresh renews none of those sessions; the set had none before (and
    # said nothing of revocations then).
    assert "revoked" not in before_set, before_set
    assert key_set()["revoked"] == {"user-7": int(store_items()["revoked:user-7"])}
    assert "the session key set edge-auth/moto/session-keys: user-7 revoked up to" in done.stdout, done.stdout
    assert {k: v for k, v in key_set().items() if k != "revoked"} == before_set
    # `status` counts the revocations in force, not the stale one.
    revoked = status(tool, settings, env)["key_value_store"]
    assert (revoked["revocations"], revoked["revocations_in_force"]) == (2, 2), revoked
    assert {k: v for k, v in store_items().items() if k.startswith("key:")} == {
        k: v for k, v in before.items() if k.startswith("key:")}
    print(done.stdout)
    assert revoke("--user", "").returncode == 2
    # A sign-out's revocation no session can outlive any more: a deploy
    # prunes it (sign-outs write one per user; the store holds 5 MB).
    store_items()["revoked:signed-out-long-ago"] = str(started - 3 * 86400)
    again = run_tool(tool, settings, work, env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "revoked:signed-out-long-ago" not in store_items()
    assert "pruned: revoked:signed-out-long-ago" in again.stdout, again.stdout
    assert "revoked:user-7" in store_items(), "a deploy keeps the revocations"
    assert "user-7" in key_set()["revoked"], "in the key set too"
    # A deploy after the rotation writes the same.
    assert {k: v for k, v in store_items().items() if k.startswith("key:")} == store_keys(key_set())

    # `rotate-session-key --now` (a leaked key): one command, one new key,
    # every old key gone from the set, the store and every package.
    leaked = key_set()
    dry = rotate("--now", "--dry-run")
    assert dry.returncode == 0 and "replace every session key" in dry.stdout, dry.stdout + dry.stderr
    assert key_set() == leaked
    now = rotate("--now")
    assert now.returncode == 0, now.stdout[-3000:] + now.stderr[-3000:]
    fresh = key_set()
    assert len(fresh["keys"]) == 1 and fresh["signing_kid"] == fresh["keys"][0]["kid"] and not fresh.get("retire_after")
    assert fresh["keys"][0]["kid"] not in [k["kid"] for k in leaked["keys"]]
    assert {k: v for k, v in store_items().items() if k.startswith("key:")} == store_keys(fresh)
    assert "revoked:user-7" in store_items(), "revocations stay"
    assert "user-7" in fresh["revoked"], "a new key keeps the revocations"
    for old_key in leaked["keys"]:
        assert packages_with(old_key["key"]) == [] and old_key["key"] not in now.stdout
    for package in ("configured/regional/signin.zip", "configured/regional/refresh.zip"):
        with zipfile.ZipFile(work / "moto" / "dist" / package) as z:
            assert json.loads(z.read("config.json"))["session"]["kids"] == [fresh["signing_kid"]], package


def test_the_lambda_edge_arrangement_still_runs_against_moto(tmp_path, moto, provider, key_value_store):
    """authorizer = "lambda-edge": the edge functions in us-east-1, their
    versions in the distribution, no function or store written. With the
    optional rate limit: its web ACL in us-east-1 (made in moto's WAF),
    named by the distribution."""
    url, env = moto
    _, stores, _ = key_value_store
    tool = deploy_tool()
    settings, log, env = deployment(tmp_path, url, env, provider, "lambdaedge",
                                    'authorizer = "lambda-edge"\nrate_limit = { auth_requests = 120, window_seconds = 60 }\n')
    work = tmp_path / "work"
    stores_before = {arn: dict(store["items"]) for arn, store in stores.items()}
    run = run_tool(tool, settings, work, env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    executed = logged(log)
    stacks = [a[a.index("--stack-name") + 1] for a in executed]
    assert stacks == ["edge-auth-lambdaedge-edge-functions", "edge-auth-lambdaedge-auth-endpoints", "edge-auth-lambdaedge-waf",
                      "edge-auth-lambdaedge-distribution", "edge-auth-lambdaedge-auth-endpoints"], stacks
    assert executed[2][executed[2].index("--region") + 1] == "us-east-1"
    outputs = outputs_of(url, stacks)
    # The web ACL as WAF holds it: one rule, blocking an address over the
    # limit on the auth paths only; the distribution names it.
    web_acl_arn = outputs["edge-auth-lambdaedge-waf"]["WebAclArn"]
    name, acl_id = web_acl_arn.split("/")[-2:]
    acl = client("wafv2", "us-east-1", url).get_web_acl(Name=name, Scope="CLOUDFRONT", Id=acl_id)["WebACL"]
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (120, 60, "IP")
    match = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"]) in {("/_edge-auth/", "STARTS_WITH"), (b"/_edge-auth/", "STARTS_WITH")}
    assert "Block" in rule["Action"] and "Allow" in acl["DefaultAction"]
    dist_params = {p["ParameterKey"]: p["ParameterValue"] for p in client("cloudformation", REGION, url).describe_stacks(
        StackName="edge-auth-lambdaedge-distribution")["Stacks"][0]["Parameters"]}
    assert dist_params["WebAclArn"] == web_acl_arn
    cloudfront = client("cloudfront", "us-east-1", url)
    (dist,) = [d for d in cloudfront.list_distributions()["DistributionList"]["Items"]
               if d["Id"] == outputs["edge-auth-lambdaedge-distribution"]["DistributionId"]]
    assert cloudfront.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["WebACLId"] == web_acl_arn
    edge = outputs["edge-auth-lambdaedge-edge-functions"]
    distribution = client("cloudformation", REGION, url).describe_stacks(StackName="edge-auth-lambdaedge-distribution")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in distribution["Parameters"]}
    assert parameters["Authorizer"] == "lambda-edge"
    assert parameters["AuthorizeVersionArn"] == edge["AuthorizeVersionArn"] != ""
    assert "KeyValueStoreArn" not in outputs["edge-auth-lambdaedge-distribution"]
    assert not list((tmp_path / "standin-state").glob("*.js")), "no CloudFront Function deployed"
    assert {arn: dict(store["items"]) for arn, store in stores.items()} == stores_before
    with zipfile.ZipFile(work / "lambdaedge" / "dist" / "configured/authorize.zip") as z:
        assert json.loads(z.read("config.json"))["session"]["keys"]
    revoke = subprocess.run([str(tool), "revoke", "--settings", str(settings), "--user", "u"],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert revoke.returncode == 2 and "has none (Lambda@Edge cannot read one)" in revoke.stderr, revoke.stderr


def test_sam_would_refuse_it_so_the_stand_in_refuses_it(tmp_path, moto):
    url, env = moto
    shutil.copytree(ROOT / "sam", tmp_path / "sam")
    argv = ["sam", "deploy", "--template-file", str(tmp_path / "sam/auth-endpoints/template.yaml"),
            "--stack-name", "edge-auth-refused-auth-endpoints", "--region", REGION, "--parameter-overrides", "DistributionArn="]
    run = subprocess.run([str(STANDIN / "sam"), *argv[1:]], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2
    assert "DistributionArn= is not a valid format" in run.stderr
    with pytest.raises(Exception):
        client("cloudformation", REGION, url).describe_stacks(StackName="edge-auth-refused-auth-endpoints")


def test_the_user_pool_stack_through_the_stand_in(tmp_path, moto):
    """The Cognito user pool's command line from the dry run, deployed by the
    stand-in: a pool, its client and secret made in moto, the outputs the
    tool reads present."""
    url, env = moto
    tool = deploy_tool()
    settings = tmp_path / "pool.toml"
    settings.write_text((ROOT / "deploy/preview.toml").read_text().replace('environment = "preview"', 'environment = "pool"')
                        .replace("edge-auth-preview-docs", "edge-auth-pool-docs"))
    work = tmp_path / "work"
    dry = run_tool(tool, settings, work, env, "--dry-run", "--offline")
    assert dry.returncode == 0, dry.stderr
    pool_command = next(a for a in commands(dry.stdout) if a[a.index("--stack-name") + 1].endswith("-user-pool"))
    shutil.copytree(ROOT / "sam", work / "pool" / "sam")
    env = dict(env, EDGE_AUTH_SAM_STATE=str(tmp_path / "standin-state"))
    run = subprocess.run([str(STANDIN / "sam"), *pool_command[1:]], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = outputs_of(url, ["edge-auth-pool-user-pool"])["edge-auth-pool-user-pool"]
    for key in ("ClientId", "ClientSecretArn", "DiscoveryUrl", "HostedDomainUrl", "SecretRegion", "UserPoolId"):
        assert out.get(key), key
    # The pool, its client and the secret are real in moto.
    pools = client("cognito-idp", "eu-west-1", url)
    assert pools.describe_user_pool(UserPoolId=out["UserPoolId"])["UserPool"]["Id"] == out["UserPoolId"]
    secret = json.loads(client("secretsmanager", "eu-west-1", url).get_secret_value(SecretId=out["ClientSecretArn"])["SecretString"])
    assert secret["client_id"] == out["ClientId"] and secret["client_secret"]



def corporate_settings(tmp_path, secret_arn, environment="corp"):
    """examples/corporate/corporate.toml in moto's region, its OIDC
    provider's client secret `secret_arn`, its metadata beside it."""
    example = ROOT / "examples/corporate"
    shutil.copy(example / "example-corp-metadata.xml", tmp_path / "example-corp-metadata.xml")
    text = (example / "corporate.toml").read_text()
    text = re.sub(r'client_secret_arn = "[^"]*"', f'client_secret_arn = "{secret_arn}"', text)
    text = (text.replace("eu-north-1", REGION).replace('environment = "corp"', f'environment = "{environment}"')
            .replace('directory = "../../site"', f'directory = "{ROOT / "site"}"')
            .replace("edge-auth-corp-handbook", f"edge-auth-{environment}-handbook"))
    settings = tmp_path / f"{environment}.toml"
    settings.write_text(text)
    return settings


def test_corporate_identity_providers_through_the_stand_in(tmp_path, moto):
    """[[provider.federation]]: the user-pool stack with a SAML and an OIDC
    provider, as the tool renders it, through SAM's translator into moto:
    both providers made in the pool with their details and mappings (the
    OIDC client secret resolved from Secrets Manager by the dynamic
    reference, never in the template, the command line or the output),
    the app client naming them; the SAML values the tool prints carry the
    pool's real id once its stack exists."""
    url, env = moto
    tool = deploy_tool()
    sm = client("secretsmanager", REGION, url)
    secret = sm.create_secret(Name="edge-auth/corp/partner-oidc", SecretString='{"client_secret":"partner-s3cret-value"}')["ARN"]
    settings = corporate_settings(tmp_path, secret)
    work = tmp_path / "work"
    dry = run_tool(tool, settings, work, env, "--dry-run", "--offline")
    assert dry.returncode == 0, dry.stderr
    # The dry run shows each provider, its mapping and what to enter.
    assert "ExampleCorp (SAML, metadata in example-corp-metadata.xml); e-mail domains example.com" in dry.stdout
    assert "custom:groups <- groups, email <- email, name <- name" in dry.stdout
    assert f"ACS URL (reply URL) https://edge-auth-corp-handbook.auth.{REGION}.amazoncognito.com/saml2/idpresponse" in dry.stdout
    assert "partner-s3cret-value" not in dry.stdout
    pool_command = next(a for a in commands(dry.stdout) if a[a.index("--stack-name") + 1].endswith("-user-pool"))
    staged = work / "corp" / "sam"
    shutil.copytree(ROOT / "sam", staged)
    rendered = subprocess.run([str(tool), "federation", "--settings", str(settings), "--template"], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    assert "partner-s3cret-value" not in rendered.stdout
    (staged / "user-pool" / "template.yaml").write_text(rendered.stdout)
    env = dict(env, EDGE_AUTH_SAM_STATE=str(tmp_path / "standin-state"))
    run = subprocess.run([str(STANDIN / "sam"), *pool_command[1:]], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "partner-s3cret-value" not in run.stdout + run.stderr
    out = outputs_of(url, ["edge-auth-corp-user-pool"])["edge-auth-corp-user-pool"]
    pool_id = out["UserPoolId"]
    assert out["ServiceProviderEntityId"] == f"urn:amazon:cognito:sp:{pool_id}"
    idp = client("cognito-idp", REGION, url)
    names = sorted(p["ProviderName"] for p in idp.list_identity_providers(UserPoolId=pool_id)["Providers"])
    assert names == ["ExampleCorp", "Partner"]
    saml = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="ExampleCorp")["IdentityProvider"]
    assert saml["ProviderType"] == "SAML"
    assert "<EntityDescriptor" in saml["ProviderDetails"]["MetadataFile"] and saml["ProviderDetails"]["IDPSignout"] == "true"
    assert saml["AttributeMapping"]["custom:groups"] == "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
    assert saml["IdpIdentifiers"] == ["example.com"]
    oidc = idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="Partner")["IdentityProvider"]
    assert oidc["ProviderDetails"]["client_secret"] == "partner-s3cret-value"
    assert oidc["ProviderDetails"]["oidc_issuer"] == "https://partner.okta.example/oauth2/default"
    assert oidc["ProviderDetails"]["authorize_scopes"] == "openid email profile groups"
    app = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=out["ClientId"])["UserPoolClient"]
    assert app["SupportedIdentityProviders"] == ["COGNITO", "ExampleCorp", "Partner"]
    described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "custom:groups" in {a["Name"] for a in described["SchemaAttributes"]}
    # Managed login with passkeys: the Essentials plan, the first factors,
    # the branding (moto has none: the stand-in checks Cognito's rules).
    assert described["UserPoolTier"] == "ESSENTIALS"
    assert described["Policies"]["SignInPolicy"]["AllowedFirstAuthFactors"] == ["PASSWORD", "WEB_AUTHN"]
    assert "AWS::Cognito::ManagedLoginBranding" in run.stdout
    assert "'LoginPages=\"managed\"'" in dry.stdout and "'Passkeys=\"ENABLED\"'" in dry.stdout
    # With the stack there, the values name the pool.
    printed = subprocess.run([str(tool), "federation", "--settings", str(settings)], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert f"entity id (audience) urn:amazon:cognito:sp:{pool_id};" in printed.stdout
    assert f"allow the redirect URI https://edge-auth-corp-handbook.auth.{REGION}.amazoncognito.com/oauth2/idpresponse" in printed.stdout

    # A secret that is not there fails the stack as CloudFormation would.
    settings = corporate_settings(tmp_path, secret.replace("partner-oidc", "nobody"), environment="corpb")
    rendered = subprocess.run([str(tool), "federation", "--settings", str(settings), "--template"], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=60)
    staged = tmp_path / "corpb-sam"
    shutil.copytree(ROOT / "sam", staged)
    (staged / "user-pool" / "template.yaml").write_text(rendered.stdout)
    argv = list(pool_command[1:])
    argv[argv.index("--template-file") + 1] = str(staged / "user-pool" / "template.yaml")
    argv[argv.index("--stack-name") + 1] = "edge-auth-corpb-user-pool"
    run = subprocess.run([str(STANDIN / "sam"), *argv], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0 and "can't find the specified secret" in run.stdout + run.stderr


def test_a_distribution_of_these_names_in_another_region_stops_the_deploy(tmp_path, moto, provider):
    """CloudFront's names are account-wide: a distribution stack of these
    names in another region (regions.distribution changed, or the same
    application deployed elsewhere) stops a deploy before anything changes,
    naming the region and the way out; `destroy` names it too."""
    url, env = moto
    tool = deploy_tool()
    settings, log, env = deployment(tmp_path, url, env, provider, "elsewhere")
    client("cloudformation", "us-west-2", url).create_stack(
        StackName="edge-auth-elsewhere-distribution",
        TemplateBody=json.dumps({"Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))
    work = tmp_path / "work"
    run = run_tool(tool, settings, work, env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "edge-auth-elsewhere-distribution exists in us-west-2" in run.stderr, run.stderr
    assert "aws cloudformation delete-stack --region us-west-2 --stack-name edge-auth-elsewhere-distribution" in run.stderr
    assert logged(log) == [], "no stack deployed"
    teardown = subprocess.run([str(tool), "destroy", "--settings", str(settings), "--dry-run"], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=300)
    assert teardown.returncode == 0, teardown.stderr
    assert "also found, not deleted: edge-auth-elsewhere-distribution exists in us-west-2" in teardown.stdout, teardown.stdout
    # The function and its store are account-wide names too.
    client("cloudformation", "us-west-2", url).delete_stack(StackName="edge-auth-elsewhere-distribution")
    client("cloudformation", "ap-southeast-2", url).create_stack(
        StackName="edge-auth-elsewhere-viewer-function",
        TemplateBody=json.dumps({"Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))
    run = run_tool(tool, settings, work, env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "edge-auth-elsewhere-viewer-function exists in ap-southeast-2" in run.stderr, run.stderr
    assert logged(log) == [], "no stack deployed"


def filter_matches(pattern, line):
    """CloudWatch Logs' JSON filter pattern, the subset the monitoring
    template writes: `{ $.f = "v" }` joined by `||` or `&&` (not both), each
    comparison optionally in parentheses, a value ending in `*` matching
    its prefix. Anything else is refused, not guessed at."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    body = body[1:-1].strip()
    ors, ands = body.split("||"), body.split("&&")
    assert len(ors) == 1 or len(ands) == 1, f"both || and && in {pattern}"
    parts, join = (ors, any) if len(ors) > 1 else (ands, all)

    def holds(part):
        m = re.fullmatch(r'\s*\(?\s*\$\.([a-z_]+)\s*=\s*"([^"*]*)(\*?)"\s*\)?\s*', part)
        assert m, f"not understood: {part!r} in {pattern}"
        field, value, wildcard = m.groups()
        got = line.get(field)
        if not isinstance(got, str):
            return False
        return got.startswith(value) if wildcard else got == value
    return join(holds(p) for p in parts)


def test_filter_patterns_are_read_as_cloudwatch_reads_them():
    line = {"decision": "forbidden", "status": "403", "message": "decision"}
    assert filter_matches('{ $.decision = "forbidden" }', line)
    assert not filter_matches('{ $.decision = "forbid" }', line)
    assert filter_matches('{ ($.message = "decision") && ($.status = "4*") }', line)
    assert not filter_matches('{ ($.message = "decision") && ($.status = "5*") }', line)
    assert filter_matches('{ ($.decision = "x") || ($.decision = "forbidden") }', line)
    with pytest.raises(AssertionError):
        filter_matches('{ $.status >= 400 }', line)


def function_lines(code, events):
    """The decision lines the deployed CloudFront Function writes for
    `events`, run in Node (its key value store empty)."""
    body = code.replace("import cf from 'cloudfront';", "", 1)
    script = f"""var cf = {{ kvs: function () {{ return {{ get: function (k) {{ return Promise.reject(new Error('key not found: ' + k)); }} }}; }} }};
var LINES = [];
console.log = function (l) {{ LINES.push(l); }};
{body}
(async function () {{
  var out = [];
  for (var e of {json.dumps(events)}) {{ LINES = []; await handler(e); out.push(LINES.map(function (l) {{ return JSON.parse(l); }})); }}
  process.stdout.write(JSON.stringify(out));
}})();
"""
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def viewer_event(uri, headers=None, cookies=None):
    return {"version": "1.0", "context": {"eventType": "viewer-request", "requestId": "r-" + uri,
                                          "distributionDomainName": "d111111abcdef8.cloudfront.net"},
            "viewer": {"ip": "203.0.113.9"},
            "request": {"method": "GET", "uri": uri, "querystring": {}, "headers": {k: {"value": v} for k, v in (headers or {}).items()},
                        "cookies": {k: {"value": v} for k, v in (cookies or {}).items()}}}


def test_service_tokens_against_moto(tmp_path, moto, provider, key_value_store, cloudfront_functions):
    """[tokens]: the deployed function reads Authorization: Bearer; `token
    create` mints a token with the deployment's key (printed once, its
    record in the store), the LIVE function under njs lets it through to
    what its group opens and refuses it once `token revoke` has written its
    revocation; `token list` shows each state; bad requests are refused
    before anything is written."""
    url, env = moto
    kvs_url, stores, _ = key_value_store
    standin, functions = cloudfront_functions
    tool = deploy_tool()
    settings, _, env = deployment(tmp_path, url, env, provider, "tokens", EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT=kvs_url,
                                  AWS_ENDPOINT_URL_CLOUDFRONT=standin)
    settings.write_text(settings.read_text() + textwrap.dedent("""
        [tokens]
        max_ttl_days = 30

        [shares]
        max_ttl_days = 7

        [[tokens.trust]]
        name = "docs-links"
        issuer = "https://token.actions.githubusercontent.com"
        audience = "https://docs.example.com"
        groups = ["admins"]
        ttl_minutes = 10
        [tokens.trust.claims]
        sub = "repo:example/docs:ref:refs/heads/main"

        [[rules]]
        pattern = "/admin/*"
        groups = ["admins"]
        """))
    run = run_tool(tool, settings, tmp_path / "work", env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # The exchange: signin's config.json holds the policy as the core reads
    # it, and the distribution routes the path signin serves to it.
    with zipfile.ZipFile(tmp_path / "work" / "tokens" / "dist" / "configured/regional/signin.zip") as z:
        deployed = json.loads(z.read("config.json"))
    assert deployed["tokens"]["trust"] == [{
        "name": "docs-links", "issuer": "https://token.actions.githubusercontent.com",
        "audience": "https://docs.example.com", "claims": {"sub": "repo:example/docs:ref:refs/heads/main"},
        "groups": ["admins"], "ttl_seconds": 600, "algorithms": ["RS256"]}]
    dist = client("cloudformation", REGION, url).describe_stacks(StackName="edge-auth-tokens-distribution")["Stacks"][0]
    token_path = {p["ParameterKey"]: p["ParameterValue"] for p in dist["Parameters"]}["TokenPath"]
    assert token_path == deployed.get("paths", {}).get("token", "/_edge-auth/token") == "/_edge-auth/token"
    store_arn = outputs_of(url, ["edge-auth-tokens-viewer-function"])["edge-auth-tokens-viewer-function"]["KeyValueStoreArn"]

    def token(*args):
        return subprocess.run([str(tool), "token", *args, "--settings", str(settings)], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=120)

    created = token("create", "--name", "ci-linkcheck", "--groups", "admins", "--ttl", "2d")
    assert created.returncode == 0, created.stdout + created.stderr
    minted = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1 and minted.count(".") == 2
    header = json.loads(base64.urlsafe_b64decode(minted.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(minted.split(".")[1] + "=="))
    assert header["typ"] == "edge-auth-service" and header["alg"] == "HS256"
    token_id = claims["sid"]
    assert claims["sub"] == f"token:{token_id}" and claims["groups"] == ["admins"] and claims["exp"] - claims["iat"] == 2 * 86400
    record = json.loads(stores[store_arn]["items"][f"token:{token_id}"])
    assert record["name"] == "ci-linkcheck" and minted not in json.dumps(stores[store_arn]["items"])

    live = functions.functions["edge-auth-tokens-viewer"]["stages"]["LIVE"]["code"].decode()

    def answer(authorization):
        event = viewer_event("/admin/report.html", {"authorization": authorization} if authorization else {})
        result = functions_standin.run(live, event, dict(stores[store_arn]["items"]))
        return json.loads(result["FunctionOutput"])

    assert "request" in answer(f"Bearer {minted}"), "the token opens what its group opens"
    refused = answer("Bearer not-a-token")["response"]
    assert refused["statusCode"] == 401 and json.loads(refused["body"]["data"]) == {"error": "invalid_token"}
    listed = token("list")
    assert listed.returncode == 0 and re.search(rf"^{re.escape(token_id)}  ci-linkcheck  admins  -  .*  active$", listed.stdout, re.M), listed.stdout

    revoked = token("revoke", "--id", token_id)
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    assert f"revoked:token:{token_id}" in stores[store_arn]["items"]
    assert answer(f"Bearer {minted}")["response"]["statusCode"] == 401, "a revoked token is refused"
    assert re.search(rf"^{re.escape(token_id)} .* revoked$", token("list").stdout, re.M)

    # Refused before anything is written (exit 2).
    before = dict(stores[store_arn]["items"])
    for args, says in [
        (["create", "--name", "x", "--groups", "admins", "--ttl", "31d"], "max_ttl_days = 30"),
        (["create", "--name", "x", "--groups", "nobody", "--ttl", "1d"], "no rule names it"),
        (["create", "--name", "x", "--groups", "admins", "--ttl", "1w"], "d, h, m or s"),
        (["revoke", "--id", "no-such-token"], "no token no-such-token"),
    ]:
        refused = token(*args)
        assert refused.returncode == 2 and says in refused.stderr, (args, refused.stderr)
    assert stores[store_arn]["items"] == before
    for out in (listed, revoked):
        assert minted not in out.stdout + out.stderr

    # [shares]: `share` makes a link (printed once, its record in the
    # store); its cookie opens the folder at the LIVE function and nothing
    # beside it, until `share revoke`.
    def share(*args):
        return subprocess.run([str(tool), "share", *args, "--settings", str(settings)], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=120)

    made = share("--path", "/admin/*", "--ttl", "1d")
    assert made.returncode == 0, made.stdout + made.stderr
    url = made.stdout.strip()
    assert len(made.stdout.splitlines()) == 1 and "/_edge-auth/share?link=" in url, url
    link = url.split("link=", 1)[1]
    header = json.loads(base64.urlsafe_b64decode(link.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(link.split(".")[1] + "=="))
    assert header["typ"] == "edge-auth-share" and claims["path"] == "/admin/*" and claims["exp"] - claims["iat"] == 86400
    link_id = claims["sub"].removeprefix("share:")
    assert json.loads(stores[store_arn]["items"][f"share:{link_id}"])["path"] == "/admin/*"

    def guest(uri):
        event = viewer_event(uri, {"accept": "text/html"}, {"__Secure-edge-auth-share": link})
        return json.loads(functions_standin.run(live, event, dict(stores[store_arn]["items"]))["FunctionOutput"])

    assert "request" in guest("/admin/report.html"), "the link opens its folder"
    assert guest("/docs/")["response"]["statusCode"] == 302, "and nothing beside it: to sign in"
    assert re.search(rf"^{re.escape(link_id)}  /admin/\*  -  .*  active$", share("list").stdout, re.M)
    ended = share("revoke", "--id", link_id)
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert guest("/admin/report.html")["response"]["statusCode"] == 302, "a revoked link opens nothing"
    assert re.search(rf"^{re.escape(link_id)} .* revoked$", share("list").stdout, re.M)
    for args, says in [
        (["--path", "/admin/*", "--ttl", "8d"], "max_ttl_days = 7"),
        (["--path", "/admin/../x", "--ttl", "1d"], "segment"),
        (["--path", "/_edge-auth/*", "--ttl", "1d"], "auth paths"),
    ]:
        refused = share(*args)
        assert refused.returncode == 2 and says in refused.stderr, (args, refused.stderr)


def test_monitoring_watches_the_deployment_against_moto(tmp_path, moto, provider, key_value_store, cloudfront_functions):
    """`[monitoring]` with an e-mail address: the function's log group made in
    us-east-1 and the auth functions' in their region, kept the days set; the
    edge stack's alarms on the deployed function's CloudFront metrics and on
    the distribution, the regional stack's on the auth functions; metric
    filters on those groups that count the lines the deployed function
    really writes; the dashboard, the saved queries, a topic and its
    subscription in each region; `status` lists both stacks, `destroy`
    deletes them."""
    url, env = moto
    kvs_url, _, _ = key_value_store
    tool = deploy_tool()
    settings, log, env = deployment(tmp_path, url, env, provider, "watched",
                                    'monitoring = { email = "ops@example.com", compute_utilization = 60, log_retention_days = 30 }\n',
                                    EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT=kvs_url,
                                    AWS_ENDPOINT_URL_CLOUDFRONT=cloudfront_functions[0])
    work = tmp_path / "work"
    run = run_tool(tool, settings, work, env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    executed = logged(log)
    stacks = [(a[a.index("--stack-name") + 1], a[a.index("--region") + 1]) for a in executed]
    assert ("edge-auth-watched-monitoring-edge", "us-east-1") in stacks
    assert ("edge-auth-watched-monitoring", REGION) in stacks
    summary = run.stdout[run.stdout.index("\nstep "):]
    assert re.search(r"log groups \(us-east-1\) +\S+ +1 made, 0 found", summary), summary
    assert re.search(rf"log groups \({REGION}\) +\S+ +3 made, 0 found", summary), summary

    function_group = "/aws/cloudfront/function/edge-auth-watched-viewer"
    auth_groups = [f"/aws/lambda/edge-auth-watched-auth-{f}" for f in ("signin", "refresh", "signout")]
    for region, groups in (("us-east-1", [function_group]), (REGION, auth_groups)):
        found = {g["logGroupName"]: g.get("retentionInDays")
                 for g in client("logs", region, url).describe_log_groups()["logGroups"]}
        for group in groups:
            assert found.get(group) == 30, (group, found)

    # The edge alarms: on the function CloudFront runs (its name in
    # CloudFront, as the distribution stack made it) and the distribution.
    cloudfront = client("cloudfront", "us-east-1", cloudfront_functions[0])
    names = [f["Name"] for f in cloudfront.list_functions(Stage="LIVE")["FunctionList"]["Items"]]
    assert "edge-auth-watched-viewer" in names, names
    edge_alarms = {a["AlarmName"]: a for a in client("cloudwatch", "us-east-1", url).describe_alarms()["MetricAlarms"]}
    topic_of = {}
    for region in ("us-east-1", REGION):
        (topic,) = [t["TopicArn"] for t in client("sns", region, url).list_topics()["Topics"] if t["TopicArn"].endswith(":edge-auth-watched-alarms")]
        topic_of[region] = topic
        subscriptions = client("sns", region, url).list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
    for metric in ("FunctionExecutionErrors", "FunctionValidationErrors", "FunctionThrottles", "FunctionComputeUtilization"):
        (alarm,) = [a for a in edge_alarms.values() if a["MetricName"] == metric]
        assert alarm["Namespace"] == "AWS/CloudFront"
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"FunctionName": "edge-auth-watched-viewer", "Region": "Global"}
        assert alarm["AlarmActions"] == [topic_of["us-east-1"]]
    assert edge_alarms["edge-auth-watched-function-compute"]["Threshold"] == 60
    distribution_id = outputs_of(url, ["edge-auth-watched-distribution"])["edge-auth-watched-distribution"]["DistributionId"]
    dist_alarm = edge_alarms["edge-auth-watched-distribution-5xx"]
    assert {d["Name"]: d["Value"] for d in dist_alarm["Dimensions"]} == {"DistributionId": distribution_id, "Region": "Global"}
    regional_alarms = {a["AlarmName"]: a for a in client("cloudwatch", REGION, url).describe_alarms()["MetricAlarms"]}
    for function in ("signin", "refresh", "signout"):
        for metric in ("errors", "throttles", "duration"):
            alarm = regional_alarms[f"edge-auth-watched-auth-{function}-{metric}"]
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": f"edge-auth-watched-auth-{function}"}]
            assert alarm["AlarmActions"] == [topic_of[REGION]]
    assert regional_alarms["edge-auth-watched-auth-signin-duration"]["ExtendedStatistic"] == "p99"
    assert not any(a["Namespace"] == "AWS/CloudFront" for a in regional_alarms.values())

    # The dashboard names the distribution and the auth functions' region.
    body = json.loads(client("cloudwatch", "us-east-1", url).get_dashboard(DashboardName="edge-auth-watched")["DashboardBody"])
    regions = {w["properties"]["region"] for w in body["widgets"]}
    assert regions == {"us-east-1", REGION}
    assert distribution_id in json.dumps(body)

    # The saved queries read the groups that exist.
    queries = [json.loads(p.read_text()) for p in (tmp_path / "standin-state").glob("*.query.json")]
    assert {q["Name"].split("/", 2)[2] for q in queries} >= {"who was refused", "sign-ins by user", "errors by reason",
                                                                "who was refused at the edge"}
    for q in queries:
        assert set(q["LogGroupNames"]) <= {function_group, *auth_groups}

    # The filters on the function's group count what the deployed function
    # writes: run it (as CloudFormation was given it) on requests it
    # refuses, and read each line through each filter.
    filters = client("logs", "us-east-1", url).describe_metric_filters(logGroupName=function_group)["metricFilters"]
    by_metric = {f["metricTransformations"][0]["metricName"]: f["filterPattern"] for f in filters}
    assert set(by_metric) == {"RefusedSessions", "EdgeDecisions"}
    (code,) = [p.read_text() for p in (tmp_path / "standin-state").glob("edge-auth-watched-viewer-function.*.js")]
    html = {"accept": "text/html", "sec-fetch-mode": "navigate"}
    lines = function_lines(code, [
        viewer_event("/guide/", html),                                             # first visit: routine, no line
        viewer_event("/guide/", html, {"__Host-edge-auth-session": "forged"}),     # refused: signin-started
        viewer_event("/guide/", {"accept": "application/json", "sec-fetch-mode": "cors"}),  # script 401
        viewer_event("/_edge-auth/nothing", html),                                 # auth path 404
        viewer_event("/a%00b", html),                                              # bad path 400
    ])
    assert lines[0] == []
    decisions = [l[0]["decision"] for l in lines[1:]]
    assert decisions == ["signin-started", "script-unauthenticated", "auth-path-not-found", "bad-path"]
    counted = {m: [d for d, l in zip(decisions, lines[1:]) if filter_matches(p, l[0])] for m, p in by_metric.items()}
    assert counted["RefusedSessions"] == ["signin-started", "script-unauthenticated"], counted
    assert counted["EdgeDecisions"] == decisions
    signin_filters = client("logs", REGION, url).describe_metric_filters(logGroupName=auth_groups[0])["metricFilters"]
    assert {f["metricTransformations"][0]["metricName"] for f in signin_filters} == {"SignIns", "SignInFailures", "ProviderErrors"}

    state = status(tool, settings, env)
    # As an operator reads it (kept in the test's output: pytest -s).
    text = subprocess.run([str(tool), "status", "--settings", str(settings)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=300)
    assert text.returncode == 0, text.stderr
    assert "edge-auth-watched-monitoring-edge" in text.stdout
    print(text.stdout)
    listed = {s["stack"]: s for s in state["stacks"]}
    assert listed["edge-auth-watched-monitoring-edge"]["region"] == "us-east-1"
    assert listed["edge-auth-watched-monitoring"]["region"] == REGION
    assert not any("monitoring" in o for o in state.get("out_of_step", [])), state.get("out_of_step")

    teardown = subprocess.run([str(tool), "destroy", "--settings", str(settings), "--empty-bucket"], cwd=ROOT,
                              capture_output=True, text=True, env=env, timeout=300)
    assert teardown.returncode == 0, teardown.stdout[-3000:] + teardown.stderr[-3000:]
    for stack, region in (("edge-auth-watched-monitoring-edge", "us-east-1"), ("edge-auth-watched-monitoring", REGION)):
        cfn = client("cloudformation", region, url)
        try:
            left = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except cfn.exceptions.ClientError:
            left = "gone"
        assert left in ("gone", "DELETE_COMPLETE"), (stack, left)


def test_a_deploy_ends_with_a_check_of_the_live_site_and_fails_on_an_open_one(tmp_path, moto, provider, key_value_store, cloudfront_functions):
    """The check that ends every deploy (`check --live`), its addresses from
    the stacks just deployed, sent to a stand-in (EDGE_AUTH_SITE_ENDPOINT)
    that answers every request with a page, as a distribution without its
    viewer-request function would: the deploy fails, names each failed
    check and what to look at; the requests were the deployed site's."""
    url, env = moto
    kvs_url, _, _ = key_value_store
    seen = []

    class Open(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.headers.get("Sec-Fetch-Mode"), self.path))
            body = b"<!doctype html><title>a page</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Open)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tool = deploy_tool()
        settings, _, env = deployment(tmp_path, url, env, provider, "checked", EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT=kvs_url,
                                      AWS_ENDPOINT_URL_CLOUDFRONT=cloudfront_functions[0],
                                      EDGE_AUTH_SITE_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}")
        run = run_tool(tool, settings, tmp_path / "work", env, check=True)
    finally:
        server.shutdown()
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "checking the live site from outside" in run.stdout
    assert re.search(r"^FAIL  protected page /edge-auth-check-[0-9a-f]+/: 200: a protected page answered without a sign-in", run.stdout, re.M), run.stdout[-3000:]
    assert re.search(r"^FAIL  sign-in start /_edge-auth/start: 200", run.stdout, re.M), run.stdout[-3000:]
    assert re.search(r"^skip  direct request to the bucket ", run.stdout, re.M), run.stdout[-3000:]
    assert "The deployment is done, but the site does not answer as it should" in run.stderr, run.stderr
    assert "edge-auth-deploy check --live --settings" in run.stderr
    paths = [p for _, p in seen]
    assert any(re.fullmatch(r"/edge-auth-check-[0-9a-f]+/", p) for p in paths), paths
    assert "/signed-out.html" in paths and "/_edge-auth/start?return=%2F" in paths, paths
    assert any(p.startswith("/_edge-auth/callback?error=access_denied&error_description=Cancelled+by+the+user") for p in paths), paths
    assert {mode for mode, _ in seen} == {"navigate"}


def test_a_site_table_deploys_then_loses_a_site_against_moto(tmp_path, moto, provider, key_value_store, cloudfront_functions):
    """[[sites]] end to end: a distribution and a grants stack per site,
    each site's content in its own bucket and its entry in the one store,
    the auth functions' config.json with the table; then a site dropped
    from the settings is removed (its stacks, bucket and store entry) while
    the other's stacks stay as they were."""
    url, env = moto
    kvs_url, stores, _ = key_value_store
    tool = deploy_tool()
    functions_url, functions = cloudfront_functions
    settings, log, env = deployment(tmp_path, url, env, provider, "table", EDGE_AUTH_KEY_VALUE_STORE_ENDPOINT=kvs_url,
                                    AWS_ENDPOINT_URL_CLOUDFRONT=functions_url)
    base = settings.read_text().replace(f'[site]\ndirectory = "{ROOT / "site"}"\n', "")
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/5eed0000-0000-0000-0000-000000000001"
    sites = {"handbook": "docs", "api": "docs", "status": None}
    def entry(name):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "index.html").write_text(f"<!doctype html><title>{name}</title>")
        group = f'sign_in_group = "{sites[name]}"\n' if sites[name] else ""
        # The API reference's branches are previewed under preview.docs.test.
        preview = (f'[sites.preview]\ndomain = "preview.docs.test"\ncertificate_arn = "{certificate}"\n'
                   if name == "api" else "")
        return (f'\n[[sites]]\nname = "{name}"\ndomain = "{name}.docs.test"\ncertificate_arn = "{certificate}"\n{group}'
                f'[[sites.rules]]\npattern = "/admin/*"\ngroups = ["admins"]\n{preview}')
    # The docs group shares its session across docs.test, signing in at
    # the handbook.
    group = '\n[[sign_in_groups]]\nname = "docs"\ndomain = "docs.test"\nsign_in_site = "handbook"\n'
    settings.write_text(base + group + "".join(entry(n) for n in sites))
    work = tmp_path / "work"
    cfn = client("cloudformation", REGION, url)

    dry = run_tool(tool, settings, work, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = commands(dry.stdout)
    first = run_tool(tool, settings, work, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    executed = logged(log)
    assert commands(first.stdout) == executed
    stacks = {a[a.index("--stack-name") + 1] for a in executed}
    outputs = outputs_of(url, stacks)
    assert [filled_in(a, outputs) for a in planned] == executed
    assert {s for s in stacks if "-site-" in s or "-grants-" in s} == {
        f"edge-auth-table-{kind}-{name}" for kind in ("site", "grants") for name in [*sites, "api-preview"]}
    assert "edge-auth-table-distribution" not in stacks
    s3 = client("s3", REGION, url)
    for name in sites:
        site = outputs[f"edge-auth-table-site-{name}"]
        body = s3.get_object(Bucket=site["BucketName"], Key="index.html")["Body"].read().decode()
        assert f"<title>{name}</title>" in body
        grants = cfn.describe_stacks(StackName=f"edge-auth-table-grants-{name}")["Stacks"][0]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in grants["Parameters"]}
        assert parameters["DistributionArn"] == site["DistributionArn"]
        assert parameters["SigninFunctionArn"] == outputs["edge-auth-table-auth-endpoints"]["SigninFunctionArn"]
        dist = cfn.describe_stacks(StackName=f"edge-auth-table-site-{name}")["Stacks"][0]
        assert {p["ParameterKey"]: p["ParameterValue"] for p in dist["Parameters"]}["SiteName"] == name
    auth = cfn.describe_stacks(StackName="edge-auth-table-auth-endpoints")["Stacks"][0]
    auth_parameters = {p["ParameterKey"]: p["ParameterValue"] for p in auth["Parameters"]}
    assert auth_parameters["Grants"] == "per-site" and auth_parameters["DistributionArn"] == ""
    with zipfile.ZipFile(work / "table" / "dist" / "configured/regional/signin.zip") as z:
        deployed = json.loads(z.read("config.json"))
    assert [(s["name"], s["base_url"]) for s in deployed["sites"]] == [
        (n, f"https://{n}.docs.test") for n in sites]
    store = stores[outputs["edge-auth-table-viewer-function"]["KeyValueStoreArn"]]["items"]
    assert {k for k in store if k.startswith("site:")} == {f"site:{n}.docs.test" for n in sites}
    # The group's sites read the group's cookie (its sign-ins go through
    # the handbook: the provider here is an OpenID one, so no pool; the
    # pool's callbacks are checked on the example's commands, in
    # test_sam_commands.py).
    assert deployed["sign_in_groups"] == [{"name": "docs", "domain": "docs.test", "sign_in_site": "handbook"}]
    assert json.loads(store["site:api.docs.test"])[4] == ["__Secure-edge-auth-session", "__Secure-edge-auth-user"]
    assert len(json.loads(store["site:status.docs.test"])) == 4
    # CloudFront's runtime (the stand-in's njs) was asked at the first
    # site, and at a host that is no site's.
    assert re.search(r"(\d+) of \1 test requests answered as the core does", first.stdout), first.stdout[-3000:]
    assert "done: https://handbook.docs.test, https://api.docs.test, https://status.docs.test" in first.stdout

    # `status` reads the table back: every stack, by role, nothing out of
    # step (the live function is what the settings render).
    report = status(tool, settings, env)
    assert report["out_of_step"] == [], report["out_of_step"]
    roles = {s["stack"]: s["role"] for s in report["stacks"]}
    assert roles["edge-auth-table-site-api"] == "site api: distribution and bucket"
    assert roles["edge-auth-table-grants-api"] == "site api: grants to the auth endpoints"
    assert roles["edge-auth-table-sites-policies"] == "the sites' access controls and policies"
    assert report["function"]["in_step"] is True

    # Branches' previews of the API reference: each branch's files under
    # its prefix in the previews' bucket, its host in the store (the
    # site's rules, its prefix, its start at the handbook); the live
    # site's bucket untouched.
    assert outputs["edge-auth-table-site-api-preview"]["BucketName"] != outputs["edge-auth-table-site-api"]["BucketName"]
    preview_stack = cfn.describe_stacks(StackName="edge-auth-table-site-api-preview")["Stacks"][0]
    preview_parameters = {p["ParameterKey"]: p["ParameterValue"] for p in preview_stack["Parameters"]}
    assert (preview_parameters["DomainName"], preview_parameters["SiteName"]) == ("*.preview.docs.test", "api")
    build = tmp_path / "build"
    (build / "docs").mkdir(parents=True)
    (build / "index.html").write_text("<!doctype html><title>feature-x</title>")
    (build / "docs" / "a.html").write_text("<!doctype html><title>a</title>")

    def preview(*args):
        return subprocess.run([str(tool), "preview", *args, "--settings", str(settings)],
                              cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    for branch in ("feature-x", "b2"):
        up = preview("upload", "--site", "api", "--branch", branch, "--dir", str(build))
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"preview of api at https://{branch}.preview.docs.test/" in up.stdout, up.stdout
    preview_bucket = outputs["edge-auth-table-site-api-preview"]["BucketName"]
    objects = lambda bucket: {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert objects(preview_bucket) == {f"{b}/{k}" for b in ("feature-x", "b2") for k in ("index.html", "docs/a.html")}
    assert objects(outputs["edge-auth-table-site-api"]["BucketName"]) == {"index.html"}
    store = lambda: stores[outputs["edge-auth-table-viewer-function"]["KeyValueStoreArn"]]["items"]
    entry_x = json.loads(store()["site:feature-x.preview.docs.test"])
    assert entry_x[5] == ["/feature-x", "https://handbook.docs.test/_edge-auth/start?site=api&branch=feature-x"]
    assert entry_x[:3] == json.loads(store()["site:api.docs.test"])[:3]
    # One taken down: its host first, then its files.
    down = preview("remove", "--site", "api", "--branch", "b2")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "site:b2.preview.docs.test" not in store()
    assert objects(preview_bucket) == {"feature-x/index.html", "feature-x/docs/a.html"}
    # Refused, before anything changes: a site without previews, a branch
    # that cannot be a host's first label, a build without an index.
    refused = preview("upload", "--site", "status", "--branch", "x", "--dir", str(build))
    assert refused.returncode == 2 and "site `status` has no previews" in refused.stderr, refused.stderr
    refused = preview("upload", "--site", "api", "--branch", "Feature/X", "--dir", str(build))
    assert refused.returncode == 2 and "--branch" in refused.stderr, refused.stderr
    refused = preview("upload", "--site", "api", "--branch", "x", "--dir", str(build / "docs"))
    assert refused.returncode == 2 and "no index.html" in refused.stderr, refused.stderr
    assert "site:x.preview.docs.test" not in store()
    # A deploy keeps the branch's entry, written again with its keys and rules.
    log.unlink()
    again = run_tool(tool, settings, work, env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert json.loads(store()["site:feature-x.preview.docs.test"]) == entry_x

    # The API reference leaves the table (its previews with it).
    kept = {n: cfn.describe_stacks(StackName=f"edge-auth-table-site-{n}")["Stacks"][0]["Parameters"] for n in ("handbook", "status")}
    settings.write_text(base + entry("handbook") + entry("status"))
    # And the grants of a site whose removal an earlier run did not finish
    # (its site stack gone); another environment's stay.
    marker = json.dumps({"Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    for name, environment in [("edge-auth-table-grants-ghost", "table"), ("edge-auth-table-grants-other", "tablex")]:
        cfn.create_stack(StackName=name, TemplateBody=marker,
                         Tags=[{"Key": "project", "Value": "edge-auth"}, {"Key": "environment", "Value": environment}])
    log.unlink()
    second = run_tool(tool, settings, work, env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "api: no longer in the settings; deleting edge-auth-table-site-api" in second.stdout
    assert "edge-auth-table-grants-api deleted" in second.stdout
    assert "api-preview: no longer in the settings; deleting edge-auth-table-site-api-preview" in second.stdout
    assert "edge-auth-table-grants-ghost deleted: the grants of a site removed earlier" in second.stdout
    assert "edge-auth-table-grants-other" not in second.stdout
    names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"}
    assert "edge-auth-table-site-api" not in names and "edge-auth-table-grants-api" not in names
    assert "edge-auth-table-grants-ghost" not in names and "edge-auth-table-grants-other" in names
    assert {"edge-auth-table-site-handbook", "edge-auth-table-site-status"} <= names
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert outputs["edge-auth-table-site-api"]["BucketName"] not in buckets
    assert preview_bucket not in buckets
    store = stores[outputs["edge-auth-table-viewer-function"]["KeyValueStoreArn"]]["items"]
    assert {k for k in store if k.startswith("site:")} == {"site:handbook.docs.test", "site:status.docs.test"}
    for n, parameters in kept.items():
        assert cfn.describe_stacks(StackName=f"edge-auth-table-site-{n}")["Stacks"][0]["Parameters"] == parameters
    with zipfile.ZipFile(work / "table" / "dist" / "configured/regional/signin.zip") as z:
        assert [s["name"] for s in json.loads(z.read("config.json"))["sites"]] == ["handbook", "status"]


def test_a_site_table_over_one_site_of_the_same_environment_is_refused(tmp_path, moto, provider):
    """An environment that serves one site (its distribution stack there)
    gets no site table beside it: the auth endpoints would take their
    grants from that site. Refused before anything changes, with the way
    out."""
    url, env = moto
    tool = deploy_tool()
    settings, log, env = deployment(tmp_path, url, env, provider, "switched")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<!doctype html><title>docs</title>")
    settings.write_text(settings.read_text().replace(f'[site]\ndirectory = "{ROOT / "site"}"\n', "") + """
[[sites]]
name = "docs"
domain = "docs.switched.test"
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/5eed0000-0000-0000-0000-000000000001"
""")
    client("cloudformation", REGION, url).create_stack(
        StackName="edge-auth-switched-distribution",
        TemplateBody=json.dumps({"Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))
    run = run_tool(tool, settings, tmp_path / "work", env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "edge-auth-switched-distribution (eu-west-1) serves this environment as one site" in run.stderr, run.stderr
    assert "Deploy the table as another environment" in run.stderr
    assert logged(log) == [], "no stack deployed"
