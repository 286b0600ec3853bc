"""A local DynamoDB-compatible server for tests: moto's server mode, in a child process on 127.0.0.1.

The tests talk to it with real boto3 clients over HTTP, exactly as the Lambda function talks to
DynamoDB; nothing is patched. ``create_table`` makes the table the way template.yaml declares it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: moto's server, on a free port; prints the port, then serves until its stdin closes.
_SERVER = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""
#: Credentials and region for the local server only (it accepts any).
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
START_TIMEOUT_S = 60


def run_local_dynamodb() -> Iterator[str]:
    """Start the server and yield its endpoint URL; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).parent,
        env={**os.environ, **LOCAL_AWS_ENV},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the local DynamoDB server did not start (said {line!r})")
        yield f"http://127.0.0.1:{line}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def dynamodb_client(endpoint: str) -> Any:
    """A boto3 client for the local server (its own session: the process environment is not read)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("dynamodb", endpoint_url=endpoint)


def create_table(client: Any, name: str | None = None) -> str:
    """The receipts table as template.yaml declares it (key, ``recent`` index, TTL); its name."""
    from samtranslator.yaml_helper import yaml_parse  # reads CloudFormation's short tags (!Ref, !If, …)

    name = name or f"receipts-{uuid.uuid4().hex[:8]}"
    template = yaml_parse((Path(__file__).parent.parent / "template.yaml").read_text(encoding="utf-8"))
    props = template["Resources"]["ReceiptsTable"]["Properties"]
    client.create_table(
        TableName=name,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        BillingMode=props["BillingMode"],
    )
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    return name
