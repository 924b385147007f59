#!/usr/bin/env python3
"""A local S3-compatible server for calibset's tests: moto in server mode on
127.0.0.1, with what the tests need around it.

    python3 tests/s3/server.py [--key ACCESS_KEY] [--upload BUCKET=DIR ...]

Prints `ready PORT` on stdout once it serves (the port is chosen by the OS),
then serves until killed. Every bucket named by --upload is created and DIR's
files are uploaded under their paths relative to DIR.

Around moto's S3 API it adds:
- a credentials check: a request signed with another access key than --key
  is answered 403 InvalidAccessKeyId, as S3 does (moto accepts any key);
- a request log: `GET /_calibset/requests` answers JSON counts of the S3
  requests since the last `POST /_calibset/reset`, by kind (list, get, head,
  put, other) and the keys that were read (`gets`);
- faults: `POST /_calibset/deny?object=BUCKET/KEY[&status=404|503]` makes
  every read of that object answer 403 AccessDenied (or 404 NoSuchKey, as when
  it is deleted after a listing, or 503 SlowDown, as a store in trouble does),
  while it stays listed;
  `POST /_calibset/stall?object=BUCKET/KEY&seconds=N` holds every read of
  it for N seconds before answering;
  `POST /_calibset/delete?object=BUCKET/KEY` deletes it;
  `POST /_calibset/put?object=BUCKET/KEY` stores the request body there.
"""

import argparse
import json
import os
import sys
import logging
import threading
import time
from urllib.parse import parse_qs, unquote

import boto3
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

CONTROL = "/_calibset/"


class Recorder:
    """The WSGI middleware: credentials, request log, faults."""

    def __init__(self, app, key):
        self.app = app
        self.key = key
        self.lock = threading.Lock()
        self.denied = {}
        self.stalled = {}
        self.s3 = None
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = {"list": 0, "get": 0, "head": 0, "put": 0, "other": 0}
            self.gets = []

    def __call__(self, environ, start_response):
        path = unquote(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL):
            return self.control(path[len(CONTROL):], environ, start_response)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if "Credential=" in auth:
            akid = auth.split("Credential=", 1)[1].split("/", 1)[0]
            if akid != self.key:
                return self.error(start_response, "InvalidAccessKeyId",
                                  "The AWS Access Key Id you provided does not exist in our records.")
        method = environ["REQUEST_METHOD"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        obj = path.lstrip("/")
        with self.lock:
            if method == "GET" and ("list-type" in query or obj.count("/") == 0):
                self.counts["list"] += 1
            elif method == "GET":
                self.counts["get"] += 1
                self.gets.append(obj)
            elif method == "HEAD":
                self.counts["head"] += 1
            elif method == "PUT":
                self.counts["put"] += 1
            else:
                self.counts["other"] += 1
            denied = self.denied.get(obj) if method in ("GET", "HEAD") else None
            stall = self.stalled.get(obj, 0) if method == "GET" else 0
        if stall:
            time.sleep(stall)
        if denied == "404":
            return self.error(start_response, "NoSuchKey",
                              "The specified key does not exist.", "404 Not Found")
        if denied == "503":
            return self.error(start_response, "SlowDown",
                              "Please reduce your request rate.", "503 Slow Down")
        if denied:
            return self.error(start_response, "AccessDenied", "Access Denied")
        return self.app(environ, start_response)

    def error(self, start_response, code, message, status="403 Forbidden"):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error>").encode()
        start_response(status, [("Content-Type", "application/xml"),
                                          ("Content-Length", str(len(body)))])
        return [body]

    def control(self, action, environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        obj = query.get("object", [""])[0]
        bucket, _, key = obj.partition("/")
        if action == "requests":
            with self.lock:
                body = json.dumps({**self.counts, "gets": sorted(self.gets)}).encode()
        elif action == "reset":
            self.reset()
            body = b"{}"
        elif action == "deny":
            with self.lock:
                self.denied[obj] = query.get("status", ["403"])[0]
            body = b"{}"
        elif action == "stall":
            with self.lock:
                self.stalled[obj] = float(query.get("seconds", ["60"])[0])
            body = b"{}"
        elif action == "delete":
            self.s3.delete_object(Bucket=bucket, Key=key)
            body = b"{}"
        elif action == "put":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.s3.put_object(Bucket=bucket, Key=key, Body=environ["wsgi.input"].read(length))
            body = b"{}"
        else:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", default="calibset-test-key")
    parser.add_argument("--upload", action="append", default=[], metavar="BUCKET=DIR")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    recorder = Recorder(DomainDispatcherApplication(create_backend_app), args.key)
    server = make_server("127.0.0.1", 0, recorder, threaded=True)
    port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()

    endpoint = f"http://127.0.0.1:{port}"
    recorder.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                               aws_access_key_id=args.key, aws_secret_access_key="secret")
    for spec in args.upload:
        bucket, _, folder = spec.partition("=")
        recorder.s3.create_bucket(Bucket=bucket)
        for dirpath, _, files in os.walk(folder):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                key = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as f:
                    recorder.s3.put_object(Bucket=bucket, Key=key, Body=f.read())
    recorder.reset()
    print(f"ready {port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
