"""A real moto S3 server on loopback that enforces signatures, as real S3 does.

moto checks signatures only when started with INITIAL_NO_AUTH_ACTION_COUNT: the first calls
(unauthenticated) create an IAM user with a read/write policy and its access key, and a
user without any policy; after them a
wrong secret gets SignatureDoesNotMatch and an anonymous read gets 403.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import free_port

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}],
}


@dataclass
class S3Server:
    endpoint: str
    key: str
    secret: str
    process: subprocess.Popen
    outsider_key: str = ""  # a valid key of a user with no policy: every read is AccessDenied
    outsider_secret: str = ""

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret, region_name="us-east-1")

    def upload_folder(self, folder: Path, bucket: str, prefix: str) -> None:
        client = self.client()
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                key = f"{prefix}/{path.relative_to(folder).as_posix()}"
                client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


#: moto's app behind tornado's HTTP/1.1 server: werkzeug (``python -m moto.server``) closes the
#: connection after every response, so each request would pay a TCP connect, which real S3
#: does not make a client pay. Used by the benchmarks, whose client CPU must be S3's.
KEEP_ALIVE_LAUNCHER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from moto.server import DomainDispatcherApplication, create_backend_app
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.wsgi import WSGIContainer
app = WSGIContainer(DomainDispatcherApplication(create_backend_app),
                    executor=ThreadPoolExecutor(4))
HTTPServer(app, max_body_size=1 << 30).listen(int(sys.argv[1]), "127.0.0.1")
IOLoop.current().start()
"""


def start_s3_server(bucket: str, *, keep_alive: bool = False) -> S3Server:
    """A fresh moto server with ``bucket``; ``keep_alive`` serves it with HTTP/1.1 keep-alive."""
    import boto3

    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "6", "AWS_DEFAULT_REGION": "us-east-1"}
    command = ([sys.executable, "-c", KEEP_ALIVE_LAUNCHER, str(port)] if keep_alive else
               [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
    process = subprocess.Popen(
        command,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except Exception:  # noqa: BLE001 - refused, reset or a 5xx while it starts: retry
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="reader")
    arn = iam.create_policy(PolicyName="all-s3", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="reader", PolicyArn=arn)
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.create_user(UserName="outsider")
    outsider = iam.create_access_key(UserName="outsider")["AccessKey"]
    server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process,
                      outsider["AccessKeyId"], outsider["SecretAccessKey"])
    server.client().create_bucket(Bucket=bucket)
    return server


@contextmanager
def plate_in_bucket(folder: Path, bucket: str, **plate: Any) -> Iterator[tuple[S3Server, Path]]:
    """A generated NGFF 0.5 plate (``write_plate`` keywords) written under ``folder`` and
    uploaded to ``bucket`` of a fresh moto server as ``plate.zarr``; the server stops after."""
    from kit.demo.generate import write_plate

    local = write_plate(folder / "plate.zarr", version="0.5", **plate)
    server = start_s3_server(bucket)
    try:
        server.upload_folder(local, bucket, "plate.zarr")
        yield server, local
    finally:
        server.stop()
