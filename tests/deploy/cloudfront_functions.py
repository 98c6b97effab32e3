"""A stand-in for CloudFront's functions API on 127.0.0.1, in front of moto.

moto models a CloudFront Function with one stage and has no UpdateFunction,
PublishFunction or TestFunction; the deploy publishes nothing CloudFront's
own runtime has not run (TestFunction on the DEVELOPMENT stage), so those
calls are stood in for here, as CloudFront documents them:

- each function has a DEVELOPMENT stage (CreateFunction, UpdateFunction)
  and, once published, a LIVE stage (PublishFunction copies DEVELOPMENT),
  each with its own ETag; a call whose If-Match is not the stage's current
  ETag is refused (PreconditionFailed), as is code over 10,240 bytes, a
  runtime other than cloudfront-js-1.0/2.0, a key value store association
  on cloudfront-js-1.0 or more than one, and a name taken;
- TestFunction runs the stage's code under Debian's njs (the engine whose
  dialect CloudFront Functions' runtime shares) with the associated key
  value store's entries (read from the key value store stand-in), returns
  the event object the function returned as `{"request": ..}` or
  `{"response": ..}`, its log lines, its error, and a compute utilization
  from its run time: the mean of 100 runs, started together, against a
  budget of 1 ms (a figure of this machine's njs, not CloudFront's; the
  real one is measured on CloudFront's hardware);
- everything else (distributions, invalidations, tags) goes on to moto.

Answers are serialized with moto's own serializer from botocore's model of
CloudFront, so the SDKs parse them as they parse CloudFront's.
"""

import base64
import hashlib
import http.client
import http.server
import json
import math
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

NS = "{http://cloudfront.amazonaws.com/doc/2020-05-31/}"
MAX_CODE_BYTES = 10240
RUNS = 100
BUDGET_MS = 1.0


def serialize(operation, result):
    from moto.core.serialize import RestXMLSerializer
    from moto.core.utils import get_service_model

    model = get_service_model("cloudfront").operation_model(operation)
    return RestXMLSerializer(model).serialize(result)


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def text(element, path, default=None):
    found = element.find(path)
    return found.text if found is not None and found.text is not None else default


class Functions:
    """The functions and their stages; `stores(arn)` gives a key value
    store's entries. `hide_keys`: TestFunction's store shows no `key:`
    entry (a store whose keys have not reached the function)."""

    def __init__(self, stores):
        self.stores = stores
        self.functions = {}
        self.calls = []
        self.hide_keys = False
        self.lock = threading.Lock()
        self.serial = 0

    def etag(self, name, code):
        self.serial += 1
        return "E" + hashlib.sha256(f"{name}/{self.serial}/".encode() + code).hexdigest()[:12].upper()

    def config_of(self, body):
        config = body.find(f"{NS}FunctionConfig")
        if config is None:
            raise Refused(400, "InvalidArgument", "FunctionConfig is required")
        runtime = text(config, f"{NS}Runtime")
        if runtime not in ("cloudfront-js-1.0", "cloudfront-js-2.0"):
            raise Refused(400, "InvalidArgument", f"Runtime {runtime!r} is not cloudfront-js-1.0 or cloudfront-js-2.0")
        arns = [a.text for a in config.iter(f"{NS}KeyValueStoreARN")]
        if arns and runtime != "cloudfront-js-2.0":
            raise Refused(400, "InvalidArgument", "key value store associations need cloudfront-js-2.0")
        if len(arns) > 1:
            raise Refused(400, "InvalidArgument", "a function takes at most one key value store")
        for arn in arns:
            if not re.fullmatch(r"arn:aws:cloudfront::\d{12}:key-value-store/[0-9a-f-]{36}", arn or ""):
                raise Refused(400, "InvalidArgument", f"{arn!r} is not a key value store ARN")
        return {"Comment": text(config, f"{NS}Comment", ""), "Runtime": runtime, "KeyValueStoreARNs": arns}

    def code_of(self, body):
        code = base64.b64decode(text(body, f"{NS}FunctionCode", ""))
        if not code:
            raise Refused(400, "InvalidArgument", "FunctionCode is required")
        if len(code) > MAX_CODE_BYTES:
            raise Refused(413, "FunctionSizeLimitExceeded", f"the function is {len(code)} bytes, over {MAX_CODE_BYTES}")
        return code

    def summary(self, name, stage):
        function = self.functions[name]
        config = function["config"]
        kept = function["stages"][stage]
        associations = {"Quantity": len(config["KeyValueStoreARNs"]),
                        "Items": [{"KeyValueStoreARN": a} for a in config["KeyValueStoreARNs"]]}
        return {
            "Name": name,
            "Status": "UNASSOCIATED",
            "FunctionConfig": {"Comment": config["Comment"], "Runtime": config["Runtime"],
                               "KeyValueStoreAssociations": associations},
            "FunctionMetadata": {"FunctionARN": f"arn:aws:cloudfront::123456789012:function/{name}",
                                 "Stage": stage, "CreatedTime": function["created"],
                                 "LastModifiedTime": kept["modified"]},
        }

    def stage(self, name, stage, if_match=None):
        if name not in self.functions or stage not in self.functions[name]["stages"]:
            raise Refused(404, "NoSuchFunctionExists", f"no function {name} at stage {stage}")
        kept = self.functions[name]["stages"][stage]
        if if_match is not None and if_match != kept["etag"]:
            raise Refused(412, "PreconditionFailed", f"If-Match {if_match!r} is not the {stage} stage's ETag")
        return kept

    def now(self):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def handle(self, method, path, query, headers, body):
        """(operation, result) for a functions call, or None for moto's."""
        match = re.fullmatch(r"/2020-05-31/function(?:/([^/]+)(/describe|/publish|/test)?)?", path)
        if not match:
            return None
        name, action = match.group(1), match.group(2) or ""
        name = urllib.parse.unquote(name) if name else None
        stage = query.get("Stage", ["DEVELOPMENT"])[0]
        if_match = headers.get("If-Match")
        with self.lock:
            if name is None and method == "POST":
                self.calls.append("CreateFunction")
                request = ET.fromstring(body)
                name = text(request, f"{NS}Name", "")
                if not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", name):
                    raise Refused(400, "InvalidArgument", f"name {name!r}")
                if name in self.functions:
                    raise Refused(409, "FunctionAlreadyExists", f"a function {name} exists")
                config, code = self.config_of(request), self.code_of(request)
                self.functions[name] = {"config": config, "created": self.now(), "stages": {
                    "DEVELOPMENT": {"code": code, "etag": self.etag(name, code), "modified": self.now()}}}
                kept = self.functions[name]["stages"]["DEVELOPMENT"]
                return "CreateFunction", {"FunctionSummary": self.summary(name, "DEVELOPMENT"), "ETag": kept["etag"],
                                          "Location": f"https://cloudfront.amazonaws.com/2020-05-31/function/{name}"}
            if name is None and method == "GET":
                self.calls.append("ListFunctions")
                # Without a Stage filter, every function (its LIVE stage
                # where it has one).
                wanted = query.get("Stage", [None])[0]
                items = [self.summary(n, wanted or ("LIVE" if "LIVE" in f["stages"] else "DEVELOPMENT"))
                         for n, f in sorted(self.functions.items()) if wanted is None or wanted in f["stages"]]
                return "ListFunctions", {"FunctionList": {"MaxItems": 100, "Quantity": len(items), "Items": items}}
            if action == "/describe" and method == "GET":
                self.calls.append(f"DescribeFunction:{stage}")
                kept = self.stage(name, stage)
                return "DescribeFunction", {"FunctionSummary": self.summary(name, stage), "ETag": kept["etag"]}
            if action == "" and method == "GET":
                self.calls.append(f"GetFunction:{stage}")
                kept = self.stage(name, stage)
                return "GetFunction", {"FunctionCode": kept["code"], "ETag": kept["etag"],
                                       "ContentType": "application/octet-stream"}
            if action == "" and method == "PUT":
                self.calls.append("UpdateFunction")
                self.stage(name, "DEVELOPMENT", if_match or "")
                request = ET.fromstring(body)
                config, code = self.config_of(request), self.code_of(request)
                self.functions[name]["config"] = config
                self.functions[name]["stages"]["DEVELOPMENT"] = {
                    "code": code, "etag": self.etag(name, code), "modified": self.now()}
                kept = self.functions[name]["stages"]["DEVELOPMENT"]
                return "UpdateFunction", {"FunctionSummary": self.summary(name, "DEVELOPMENT"), "ETag": kept["etag"]}
            if action == "/publish" and method == "POST":
                self.calls.append("PublishFunction")
                staged = self.stage(name, "DEVELOPMENT", if_match or "")
                self.functions[name]["stages"]["LIVE"] = {
                    "code": staged["code"], "etag": self.etag(name, staged["code"]), "modified": self.now()}
                return "PublishFunction", {"FunctionSummary": self.summary(name, "LIVE")}
            if action == "" and method == "DELETE":
                self.calls.append("DeleteFunction")
                self.stage(name, "DEVELOPMENT", if_match or "")
                del self.functions[name]
                return "DeleteFunction", {}
            if action == "/test" and method == "POST":
                request = ET.fromstring(body)
                stage = text(request, f"{NS}Stage", "DEVELOPMENT")
                self.calls.append(f"TestFunction:{stage}")
                kept = self.stage(name, stage, if_match or "")
                event = base64.b64decode(text(request, f"{NS}EventObject", ""))
                if len(event) > 40960:
                    raise Refused(400, "InvalidArgument", f"the event object is {len(event)} bytes, over 40,960")
                arns = self.functions[name]["config"]["KeyValueStoreARNs"]
                entries = dict(self.stores(arns[0])) if arns else {}
                if self.hide_keys:
                    entries = {k: v for k, v in entries.items() if not k.startswith("key:")}
                code = kept["code"]
        return "TestFunction", {"TestResult": dict(run(code.decode(), json.loads(event), entries),
                                                   FunctionSummary=self.summary(name, stage))}


def run(code, event, entries):
    """The function under njs on `event` with the store `entries`: what
    TestFunction reports."""
    body = code.replace("import cf from 'cloudfront';", "", 1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        script = Path(tmp) / "test.js"
        script.write_text(f"""var KVS = {json.dumps(entries)};
var cf = {{ kvs: function () {{ return {{ get: function (k) {{
  return Object.prototype.hasOwnProperty.call(KVS, k) ? Promise.resolve(KVS[k]) : Promise.reject(new Error('key not found: ' + k));
}} }}; }} }};
var LOGS = [];
console.log = function (line) {{ LOGS.push(String(line)); }};
{body}
var fs = require('fs');
var EVENT = {json.dumps(json.dumps(event))};
(async function () {{
  var result = {{}};
  try {{
    // Every run starts before this driver awaits anything: in njs an
    // exception thrown below a resumed async frame costs about half a
    // millisecond, which CloudFront, running each request afresh, never
    // charges a request that does not itself await. The first run's
    // answer is the output; all {RUNS} are timed.
    var events = [];
    for (var i = 0; i < {RUNS}; i++) events.push(JSON.parse(EVENT));
    var started = Date.now(), running = [];
    for (var j = 0; j < {RUNS}; j++) running.push(handler(events[j]));
    var outs = await Promise.all(running);
    result.ms = (Date.now() - started) / {RUNS};
    var out = outs[0];
    result.output = JSON.stringify(out.statusCode === undefined ? {{ request: out }} : {{ response: out }});
    // One run's lines (each run writes the same).
    result.logs = LOGS.slice(0, LOGS.length / {RUNS});
  }} catch (e) {{
    result.error = String(e);
    result.logs = LOGS.splice(0);
  }}
  fs.writeFileSync({json.dumps(str(out))}, JSON.stringify(result));
}})();
""")
        ran = subprocess.run(["njs", "-q", str(script)], capture_output=True, text=True, timeout=60)
        if not out.exists():
            return {"FunctionErrorMessage": (ran.stderr or ran.stdout or "the function did not finish").strip()[:1000],
                    "FunctionExecutionLogs": [], "ComputeUtilization": "0"}
        result = json.loads(out.read_text())
    utilization = max(1, math.ceil(result.get("ms", 0) / BUDGET_MS * 100))
    answer = {"FunctionExecutionLogs": result.get("logs", []), "ComputeUtilization": str(utilization)}
    if "error" in result:
        answer["FunctionErrorMessage"] = result["error"]
    else:
        answer["FunctionOutput"] = result["output"]
    return answer


def serve(moto_url, stores):
    """The stand-in on 127.0.0.1: (url, Functions, server)."""
    functions = Functions(stores)
    upstream = urllib.parse.urlsplit(moto_url)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def respond(self, status, headers, body):
            body = body.encode() if isinstance(body, str) else (body or b"")
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def any(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
            split = urllib.parse.urlsplit(self.path)
            try:
                handled = functions.handle(self.command, split.path, urllib.parse.parse_qs(split.query),
                                           self.headers, body)
            except Refused as e:
                error = (f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
                         f"<Error><Type>Sender</Type><Code>{e.code}</Code><Message>{e.message}</Message></Error>"
                         f"<RequestId>standin</RequestId></ErrorResponse>")
                self.respond(e.status, {"Content-Type": "text/xml"}, error)
                return
            except ET.ParseError as e:
                self.respond(400, {"Content-Type": "text/xml"}, f"<ErrorResponse><Error><Code>MalformedXML</Code><Message>{e}</Message></Error></ErrorResponse>")
                return
            if handled is not None:
                operation, result = handled
                if operation == "DeleteFunction":
                    self.respond(204, {}, b"")
                    return
                answer = serialize(operation, result)
                headers = dict(answer["headers"])
                if operation == "GetFunction":
                    headers["Content-Type"] = "application/octet-stream"
                self.respond(answer["status_code"], headers, answer["body"])
                return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(self.command, self.path, body=body, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            self.respond(reply.status, dict(reply.getheaders()), data)
            connection.close()

        do_GET = do_POST = do_PUT = do_DELETE = any

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", functions, server
