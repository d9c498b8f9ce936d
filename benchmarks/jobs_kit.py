"""The benchmark jobs written with ngff-kit; runs in the kit's venv (see protocol.py).

    python jobs_kit.py JOB REMOTE_URL LOCAL_PATH

``BENCH_USERINFO`` ("user:password") is the Basic credential, given as ``auth=`` to ``kit.open``;
an ``s3://`` source gets ``kit.S3Credentials`` from the AWS_* variables (``s3_jobs.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import serve  # noqa: E402

import kit  # noqa: E402
import kit.io.http  # noqa: E402,F401 - imported lazily by the first URL; not part of a timing


def open_(source: str, remote: bool):
    if not remote:
        return kit.open(source)
    if source.startswith("s3://"):  # s3_jobs.py: the run's AWS_* variables
        return kit.open(source, auth=kit.S3Credentials(
            key=os.environ["AWS_ACCESS_KEY_ID"], secret=os.environ["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=os.environ["AWS_ENDPOINT_URL"]))
    user, _, password = os.environ["BENCH_USERINFO"].partition(":")
    return kit.open(source, auth=kit.BasicAuth(user, password))


def preview(source: str, remote: bool):
    rgb = kit.preview(open_(source, remote), max_size=512)
    return {"shape": list(rgb.shape)}


def images(source: str, remote: bool):
    return {"images": len(open_(source, remote).images())}


def overview(source: str, remote: bool):
    mosaic = kit.plate_overview(open_(source, remote), progress=False)
    return {"shape": list(mosaic.shape)}


def tables(source: str, remote: bool):
    image = open_(source, remote)
    return {"tables": {n: list(t.to_pandas().shape) for n, t in image.tables.items()}}


JOBS = {"ngff-kit.preview": preview, "ngff-kit.images": images, "ngff-kit.overview": overview,
        "ngff-kit.tables": tables}

if __name__ == "__main__":
    serve(JOBS)
